"""The contracts: generated code is current, and released fields never break."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

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
    from google.protobuf import descriptor_pb2

    import gedeeld.zvh.v1.casus_pb2 as casus
    import gedeeld.zvh.v1.common_pb2 as common
    import gedeeld.zvh.v1.gebeurtenis_pb2 as gebeurtenis

    missing = []
    for mod in (casus, common, gebeurtenis):
        path = ROOT / "proto" / mod.DESCRIPTOR.name
        lines = path.read_text().splitlines()
        fdp = descriptor_pb2.FileDescriptorProto()
        mod.DESCRIPTOR.CopyToProto(fdp)
        for msg in fdp.message_type:
            for f in msg.field:
                idx = next(i for i, line in enumerate(lines) if f" {f.name} = {f.number};" in line)
                if not lines[idx - 1].strip().startswith("//"):
                    missing.append(f"{msg.name}.{f.name}")
    assert missing == []
