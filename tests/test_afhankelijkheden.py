"""The import rule: the services meet only through gedeeld/ and the contracts.

    gedeeld/                      imports no service, no deploy/, no tests
    services/<dienst>/            imports gedeeld/, its own package and libraries; no other service
    services/node/, services/cli/ the launcher and the command lines: may put services together
    production code               never imports deploy/, tests/ or bench/

A service that needs another's facts gets them from an event on the region's own stream
(proto/zvh/v1/gebeurtenis.proto) or a gRPC call, never from the other's modules or tables.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DIENSTEN = ("casusregister", "signalering", "samenwerking", "sleuteldeel", "portaal", "trendradar")
SAMENSTELLERS = ("node", "cli")
NIET_IN_PRODUCTIE = ("deploy", "tests", "bench")


@dataclass(frozen=True)
class Overtreding:
    bestand: str
    regel: int
    module: str
    waarom: str

    def __str__(self) -> str:
        return f"{self.bestand}:{self.regel}: imports {self.module} ({self.waarom})"


def _imports(bron: str) -> Iterator[tuple[int, str]]:
    for n in ast.walk(ast.parse(bron)):
        if isinstance(n, ast.Import):
            for a in n.names:
                yield n.lineno, a.name
        elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            # ``from services import lokaal`` names a module too: check each name below the package.
            if n.module in ("services", "gedeeld"):
                for a in n.names:
                    yield n.lineno, f"{n.module}.{a.name}"
            else:
                yield n.lineno, n.module


def overtredingen(pad: str, bron: str) -> list[Overtreding]:
    """What a file at ``pad`` (relative, with ``/``) may not import, per the rule above."""
    delen = pad.split("/")
    uit: list[Overtreding] = []
    for regel, module in _imports(bron):
        top = module.split(".")
        if delen[0] in ("gedeeld", "services") and top[0] in NIET_IN_PRODUCTIE:
            uit.append(Overtreding(pad, regel, module, "production code imports a non-production tree"))
        elif delen[0] == "gedeeld" and top[0] == "services":
            uit.append(Overtreding(pad, regel, module, "gedeeld/ may not depend on a service"))
        elif delen[0] == "services" and len(delen) > 2 and delen[1] in DIENSTEN and top[0] == "services":
            andere = top[1] if len(top) > 1 else ""
            if andere != delen[1]:
                uit.append(
                    Overtreding(pad, regel, module, f"service {delen[1]} may use gedeeld/ and contracts only")
                )
    return uit


def _productiecode() -> Iterator[Path]:
    for boom in ("gedeeld", "services"):
        for f in sorted((ROOT / boom).rglob("*.py")):
            if "/zvh/v1/" not in f.as_posix():
                yield f


def test_the_services_meet_only_through_gedeeld_and_the_contracts() -> None:
    gevonden = [
        o
        for f in _productiecode()
        for o in overtredingen(f.relative_to(ROOT).as_posix(), f.read_text(encoding="utf-8"))
    ]
    assert not gevonden, "\n".join(map(str, gevonden))


def test_every_service_package_is_named_in_the_rule() -> None:
    # A new service folder must be added to DIENSTEN (or SAMENSTELLERS), or the rule would not see it.
    pakketten = {p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists()}
    assert pakketten == set(DIENSTEN) | set(SAMENSTELLERS)


@pytest.mark.parametrize(
    ("pad", "bron"),
    [
        ("services/samenwerking/afhandeling.py", "from services.signalering.store import MatchRij\n"),
        ("services/trendradar/bronnen.py", "import services.casusregister.store\n"),
        ("services/portaal/app.py", "def f():\n    from services.trendradar import grafiek\n"),
        ("services/signalering/server.py", "from services import casusregister\n"),
        ("gedeeld/nats/jetstream.py", "from services.node.opstart import Node\n"),
        ("services/casusregister/server.py", "from deploy import lokaal\n"),
    ],
)
def test_the_rule_catches_a_forbidden_import(pad: str, bron: str) -> None:
    assert len(overtredingen(pad, bron)) == 1


@pytest.mark.parametrize(
    ("pad", "bron"),
    [
        ("services/samenwerking/afhandeling.py", "from services.samenwerking.store import SwMatch\n"),
        ("services/samenwerking/server.py", "from gedeeld.nats import onderwerpen\nimport nats\n"),
        ("services/node/opstart.py", "from services.signalering.server import Signalering\n"),
        ("services/cli/zvhctl.py", "from services.casusregister import bewaartermijn\n"),
        ("tests/x.py", "from services.signalering.store import MatchRij\n"),
    ],
)
def test_the_rule_allows_what_it_should(pad: str, bron: str) -> None:
    assert overtredingen(pad, bron) == []
