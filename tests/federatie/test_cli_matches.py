"""`zvh matches …` as a procesregisseur uses it: a real process against real nodes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.cli.matches import relatief
from tests.conftest import token_van
from tests.federatie.knooppunten import Federatie
from tests.voorbeelden import aanmelding, betrokkene

ZVH = Path(sys.executable).parent / "zvh"


def _env(f: Federatie, regio: str, gebruiker: str = "pr-anna") -> dict[str, str]:
    node = f[regio].node
    assert node is not None and node.casusregister is not None
    return {
        **os.environ,
        "ZVH_ADRES": f"127.0.0.1:{node.casusregister.grpc.port}",
        "ZVH_TOKEN": token_van(gebruiker),
    }


async def zvh(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [str(ZVH), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


async def test_walkthrough_from_match_to_joint_handling(federatie: Federatie) -> None:
    volg = await asyncio.create_subprocess_exec(
        str(ZVH), "matches", "volg", env=_env(federatie, "arnhem"), stdout=asyncio.subprocess.PIPE
    )
    assert volg.stdout is not None
    assert "volgen" in (await asyncio.wait_for(volg.stdout.readline(), 20)).decode()

    await federatie["wvv"].casus_voor(aanmelding(betrokkene()))
    await federatie["arnhem"].casus_voor(aanmelding(betrokkene(voornamen="Jan")))
    await federatie.rustig()

    live = (await asyncio.wait_for(volg.stdout.readline(), 20)).decode()
    assert live.startswith("NIEUWE MATCH") and "wvv" in live and "zeker" in live
    volg.send_signal(signal.SIGINT)
    rest = (await asyncio.wait_for(volg.stdout.read(), 20)).decode()
    assert "zvh matches volg --vanaf v1." in rest
    assert await asyncio.wait_for(volg.wait(), 20) == 0

    wvv, arnhem = _env(federatie, "wvv"), _env(federatie, "arnhem")
    lijst = await zvh(wvv, "matches", "lijst")
    assert lijst.returncode == 0, lijst.stderr
    [rij] = [r for r in lijst.stdout.splitlines() if "arnhem" in r]
    assert "zeker" in rij and "nieuw" in rij and "pr-anna" in rij and "zojuist" in rij
    match_wvv = rij.split()[0]

    voorstel = await zvh(
        wvv, "matches", "voorstel", match_wvv, "--regie", "arnhem", "--contact", "Anna 088-1"
    )
    assert voorstel.returncode == 0 and "Voorstel verstuurd" in voorstel.stdout
    await federatie.rustig()
    [rij_b] = [r for r in (await zvh(arnhem, "matches", "lijst")).stdout.splitlines() if " wvv " in r]
    assert "voorgesteld door wvv, regie arnhem" in rij_b
    match_arnhem = rij_b.split()[0]

    akkoord = await zvh(arnhem, "matches", "akkoord", match_arnhem, "--contact", "Bram 026-2")
    assert akkoord.returncode == 0 and "Akkoord verstuurd" in akkoord.stdout
    await federatie.rustig()
    bekijk = await zvh(wvv, "matches", "bekijk", match_wvv)
    assert "samenwerking, regie arnhem" in bekijk.stdout and "Bram 026-2" in bekijk.stdout

    nogmaals = await zvh(arnhem, "matches", "akkoord", match_arnhem)
    assert nogmaals.returncode == 1
    assert (
        "niet mogelijk" in nogmaals.stderr and "akkoord geven kan alleen op een voorstel" in nogmaals.stderr
    )
    fg = await zvh(_env(federatie, "wvv", "fg-eva"), "matches", "lijst")
    assert fg.returncode == 1 and "geen toegang" in fg.stderr
    onzin = await zvh(wvv, "matches", "bekijk", "niet-een-id")
    assert onzin.returncode == 1 and "match_id" in onzin.stderr


def test_relative_times_read_naturally() -> None:
    nu = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert relatief(nu - timedelta(seconds=20), nu) == "zojuist"
    assert relatief(nu - timedelta(minutes=5), nu) == "5 min geleden"
    assert relatief(nu - timedelta(hours=3), nu) == "3 uur geleden"
    assert relatief(nu - timedelta(hours=30), nu) == "gisteren"
    assert relatief(nu - timedelta(days=12), nu) == "12 dagen geleden"
    assert relatief(nu - timedelta(days=90), nu) == "2026-08-25"
