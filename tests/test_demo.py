"""`make demo` is one of the two commands a newcomer runs: it must keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_shows_match_query_closure_agreement_and_no_leak() -> None:
    uit = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
        cwd=ROOT,
    )
    assert uit.returncode == 0, uit.stderr[-3000:]
    tekst = uit.stdout
    for verwacht in (
        "pr-wvv ziet de match live binnenkomen",
        "NIEUWE MATCH",
        "waarschijnlijk nieuw",
        "treffer   haaglanden",
        "geen treffer: arnhem",
        "een procesregisseur mag dat niet: PERMISSION_DENIED",
        "waarschijnlijk gesloten",
        "status             samenwerking, regie arnhem",
        "hun regisseur      Bram Jansen, 026-555 0202",
        "hun regisseur      Anna de Vries, 088-555 0101",
        "gevonden: niets",
        "8. Het webportaal van elke regio",
        "(inlogpagina: HTTP 200)",
        "pr-arnhem        TOTP-geheim",
    ):
        assert verwacht in tekst, f"{verwacht!r} missing from the demo's output:\n{tekst}"
    assert not (ROOT / "demo-data").exists()
