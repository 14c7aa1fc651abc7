"""The contracts: generated code is current, and released fields never break."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _laad(naam: str) -> Any:
    spec = importlib.util.spec_from_file_location(naam, ROOT / "proto" / f"{naam}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[naam] = mod
    spec.loader.exec_module(mod)
    return mod


generate = _laad("generate")
compat = _laad("compat")
comments = _laad("comments")


def test_generated_code_is_not_stale() -> None:
    assert generate.check() == [], "run `make proto` and commit the result"


def test_no_breaking_change_against_released_contracts() -> None:
    import json

    released = json.loads((ROOT / "proto" / "zvh" / "v1" / "released.json").read_text())
    assert compat.breaking_changes(released, compat.snapshot()) == []


def test_checker_catches_renumbered_removed_and_reused_fields() -> None:
    released = compat.snapshot()
    now = copy.deepcopy(released)
    velden = now["messages"]["zvh.v1.Casus"]
    velden["regio"][0] = 99  # renumbered
    del velden["topx"]  # removed
    velden["nieuw_veld"] = [1, 9, "", False]  # reuses casus_id's number
    del now["enums"]["zvh.v1.Thema"]["THEMA_JEUGD"]
    now["services"]["zvh.v1.CasusService"]["Zoeken"][3] = True  # became streaming

    problems = compat.breaking_changes(released, now)

    assert any("Casus.regio changed" in p for p in problems)
    assert any("Casus.topx was removed" in p for p in problems)
    assert any("reuses field number 1" in p for p in problems)
    assert any("THEMA_JEUGD was removed" in p for p in problems)
    assert any("Zoeken changed" in p for p in problems)
    assert compat.breaking_changes(released, released) == []


def test_every_field_and_rpc_has_a_comment() -> None:
    fds = comments.descriptor_set()

    # Every file under proto/zvh/v1 is checked, without a list to keep up to date.
    on_disk = {f"zvh/v1/{p.name}" for p in (ROOT / "proto" / "zvh" / "v1").glob("*.proto")}
    assert {f.name for f in fds.file} == on_disk
    assert comments.missing_comments(fds) == []


def _location(fds: Any, file: str, path: tuple[int, ...]) -> Any:
    fdp = next(f for f in fds.file if f.name == file)
    return next(loc for loc in fdp.source_code_info.location if tuple(loc.path) == path)


def test_comment_check_catches_an_uncommented_field_rpc_enum_value_and_message() -> None:
    fds = comments.descriptor_set()
    casus = next(f for f in fds.file if f.name == "zvh/v1/casus.proto")
    msg = next(i for i, m in enumerate(casus.message_type) if m.name == "Casus")
    regio = next(i for i, f in enumerate(casus.message_type[msg].field) if f.name == "regio")
    service = next(i for i, s in enumerate(casus.service) if s.name == "CasusService")
    rpc = next(i for i, m in enumerate(casus.service[service].method) if m.name == "Aanmelden")
    thema = next(i for i, e in enumerate(casus.enum_type) if e.name == "Thema")

    broken = copy.deepcopy(fds)
    for path in ((4, msg, 2, regio), (6, service, 2, rpc), (5, thema, 2, 5), (4, msg)):
        _location(broken, "zvh/v1/casus.proto", path).leading_comments = ""
    # A comment of blanks is no comment either.
    _location(broken, "zvh/v1/casus.proto", (6, service)).leading_comments = "  \n"

    assert comments.missing_comments(broken) == [
        "zvh/v1/casus.proto: message zvh.v1.Casus",
        "zvh/v1/casus.proto: field zvh.v1.Casus.regio",
        "zvh/v1/casus.proto: enum value zvh.v1.Thema.THEMA_JEUGD",
        "zvh/v1/casus.proto: service zvh.v1.CasusService",
        "zvh/v1/casus.proto: rpc zvh.v1.CasusService.Aanmelden",
    ]


def test_comment_check_covers_a_new_file_and_nested_types(tmp_path: Path) -> None:
    pkg = tmp_path / "zvh" / "v1"
    pkg.mkdir(parents=True)
    (pkg / "nieuw.proto").write_text(
        'syntax = "proto3";\n'
        "package zvh.v1;\n"
        "// Documented.\n"
        "service NieuwService {\n"
        "  rpc Doe(Nieuw) returns (Nieuw);\n"
        "}\n"
        "// Documented.\n"
        "message Nieuw {\n"
        "  // Documented.\n"
        "  message Binnen {\n"
        "    int32 diep = 1;\n"
        "  }\n"
        "  // Documented.\n"
        "  enum Soort {\n"
        "    // Documented.\n"
        "    SOORT_ONBEKEND = 0;\n"
        "    SOORT_A = 1;  // a trailing comment does not count\n"
        "  }\n"
        "  // Documented.\n"
        "  map<string, int32> tellingen = 1;\n"
        "}\n"
    )

    fds = comments.descriptor_set(tmp_path)

    assert [f.name for f in fds.file] == ["zvh/v1/nieuw.proto"]
    assert comments.missing_comments(fds) == [
        "zvh/v1/nieuw.proto: field zvh.v1.Nieuw.Binnen.diep",
        "zvh/v1/nieuw.proto: enum value zvh.v1.Nieuw.Soort.SOORT_A",
        "zvh/v1/nieuw.proto: rpc zvh.v1.NieuwService.Doe",
    ]


def test_comment_check_refuses_descriptors_without_source_info() -> None:
    from google.protobuf import descriptor_pb2

    import gedeeld.zvh.v1.casus_pb2 as casus

    # The generated modules carry no comments; checking them would find nothing, not pass.
    fds = descriptor_pb2.FileDescriptorSet()
    casus.DESCRIPTOR.CopyToProto(fds.file.add())
    with pytest.raises(ValueError, match="no source info"):
        comments.missing_comments(fds)
