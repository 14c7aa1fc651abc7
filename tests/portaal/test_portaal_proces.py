"""The portal as operators run it: ``zvh-node`` with ``[portaal]`` as a process (accounts made
with ``zvhctl``, SIGTERM), and a stop while a live inbox stream is open."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path

import httpx
import pyotp

from gedeeld.nats.server import NatsServer
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from tests.conftest import begrensd
from tests.federatie.knooppunten import als
from tests.portaal.omgeving import met_portalen
from tests.portaal.test_portaal_http import csrf, inloggen, klant
from tests.test_node import BIN, config, zvhctl
from tests.voorbeelden import aanmelding, betrokkene


async def test_zvh_node_runs_the_portal_and_stops_on_sigterm(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[portaal]\nlisten = "127.0.0.1:0"\ncookie_secure = false\n')
    assert (await asyncio.to_thread(zvhctl, cfg, "db", "upgrade")).returncode == 0
    nieuw = await asyncio.to_thread(
        zvhctl,
        cfg,
        "portaal",
        "gebruiker",
        "toevoegen",
        "ic-carla",
        "informatiecoordinator",
        "--naam",
        "Carla",
    )
    assert nieuw.returncode == 0, nieuw.stderr
    wachtwoord = re.search(r"^wachtwoord: (\S+)$", nieuw.stdout, re.MULTILINE).group(1)  # type: ignore[union-attr]
    totp = re.search(r"^totp:\s+(\S+)$", nieuw.stdout, re.MULTILINE).group(1)  # type: ignore[union-attr]
    lijst = await asyncio.to_thread(zvhctl, cfg, "portaal", "gebruiker", "lijst")
    assert "ic-carla\tinformatiecoordinator\tCarla" in lijst.stdout and "wachtwoord+totp" in lijst.stdout

    proc = await asyncio.create_subprocess_exec(
        str(BIN / "zvh-node"),
        *("--config", str(cfg), "--grace", "2"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        eerste = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        gevonden = re.search(r"portaal at (http://127\.0\.0\.1:\d+)", eerste)
        assert gevonden, f"unexpected first line: {eerste!r}"
        url = gevonden.group(1)
        async with httpx.AsyncClient(base_url=url, follow_redirects=True, timeout=20) as web:
            pagina = await web.get("/inloggen")
            r = await web.post(
                "/inloggen",
                data={
                    "csrf": csrf(pagina.text),
                    "gebruiker": "ic-carla",
                    "wachtwoord": wachtwoord,
                    "code": pyotp.TOTP(totp).now(),
                },
            )
            # This node has no [federatie]: no match inbox, and the portal says so plainly.
            assert r.status_code == 501 and "draait niet op de node" in r.text and "Carla" in r.text
            casussen = await web.get("/casussen")
            assert casussen.status_code == 200, casussen.text[-1500:]
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 30)
    assert rc == 0


async def test_stopping_the_node_ends_open_live_inbox_streams(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    async with met_portalen(tmp_path, nats_server.url) as fed:
        await fed["wvv"].casus_voor(aanmelding(), "pr-anna")
        async with klant(fed, "wvv") as web:
            await inloggen(web, "wvv", "pr-anna")
            async with web.stream("GET", "/inbox/stroom") as stroom:
                assert stroom.headers["content-type"].startswith("text/event-stream")
                regels = stroom.aiter_lines()
                assert await anext(regels) == "retry: 2000"
                # The node stops (as on SIGTERM) while the browser still listens: the stream ends,
                # the stop does not hang on it.
                await begrensd("node stop with an open stream", fed.stop("wvv"), 20)
                rest = [regel async for regel in regels]
                assert all(not r.startswith("event:") for r in rest)
        assert fed["wvv"].node is None


async def test_live_inbox_streams_from_the_position_the_page_was_rendered_at(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    async with met_portalen(tmp_path, nats_server.url) as fed:
        await fed["wvv"].casus_voor(aanmelding(betrokkene()), "pr-anna")
        await fed["arnhem"].casus_voor(aanmelding(betrokkene(voornamen="Jan")), "pr-bram")
        await fed.rustig()
        async with klant(fed, "wvv") as web:
            pagina = await inloggen(web, "wvv", "pr-anna")
            vanaf = re.search(r'data-vanaf="(v1\.\d+)"', pagina.text)
            assert vanaf and vanaf.group(1) == "v1.1"  # the match's arrival is already on the page
            [rij] = re.findall(r'id="match-([0-9a-f-]{36})"', pagina.text)
            async with web.stream("GET", f"/inbox/stroom?vanaf={vanaf.group(1)}") as stroom:
                regels = stroom.aiter_lines()
                assert await anext(regels) == "retry: 2000"
                # Anna opens the match (NIEUW → BEKEKEN): that change, and not the old arrival, comes.
                await (
                    fed["wvv"]
                    .matchstub()
                    .Ophalen(M.MatchOphalenRequest(match_id=rij), metadata=als("pr-anna"))
                )
                gebeurtenis: list[str] = []
                while len(gebeurtenis) < 3:
                    if regel := await anext(regels):  # blank lines end an event
                        gebeurtenis.append(regel)
        assert gebeurtenis[0] == "id: v1.2" and gebeurtenis[1] == "event: match"
        data = json.loads(gebeurtenis[2].removeprefix("data: "))
        assert data["match_id"] == rij and data["status"] == "Bekeken" and data["nieuw"] is False
