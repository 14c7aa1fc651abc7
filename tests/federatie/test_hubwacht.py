"""``zvhctl federatie hub-wacht``: what a real hub nats-server refused, counted per region."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from prometheus_client import REGISTRY

from gedeeld.nats.hubconfig import inbox_prefix
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import bevestig
from services.cli.hubwacht import Volger, herken, tel
from tests.federatie.test_nats_permissies import WACHTWOORD, start_hub


def geteld(soort: str, regio: str) -> float:
    return REGISTRY.get_sample_value("zvh_hub_violations_total", {"soort": soort, "regio": regio}) or 0.0


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[NatsServer]:
    server = await start_hub(tmp_path)
    try:
        yield server
    finally:
        await server.stop()


async def test_refusals_in_the_hubs_log_are_counted_per_region(hub: NatsServer) -> None:
    volger = Volger(hub.workdir / "nats-server.log", vanaf_begin=False)
    assert volger.nieuw() == []  # what was there before is not counted
    voor = {s: geteld(s, "bb") for s in ("publish", "subscribe")}
    voor_auth = geteld("authorization", "onbekend") + geteld("authorization", "bb")

    fouten: list[Exception] = []

    async def fout(e: Exception) -> None:
        fouten.append(e)

    bb = await nats.connect(
        hub.url, user="bb", password=WACHTWOORD["bb"], inbox_prefix=inbox_prefix("bb"), error_cb=fout
    )
    await bb.publish("zvh.signaal.aa", b"vervalst")  # as another region
    await bb.subscribe("zvh.treffer.aa.*")  # another region's inbox
    await bevestig(bb)
    await bb.close()
    assert "authorization violation" in (await verkeerd_wachtwoord(hub)).lower()

    gevonden: list[str] = []
    eind = asyncio.get_running_loop().time() + 10
    while {"publish", "subscribe", "authorization"} - set(gevonden):
        assert asyncio.get_running_loop().time() < eind, f"not in the hub's log within 10 s: {gevonden}"
        for regel in volger.nieuw():
            o = tel(regel)
            if o is not None:
                gevonden.append(o.soort)
                assert o.subject in ("", "zvh.signaal.?", "zvh.treffer.?")  # no region code, no content
        await asyncio.sleep(0.05)
    assert geteld("publish", "bb") == voor["publish"] + 1
    assert geteld("subscribe", "bb") == voor["subscribe"] + 1
    assert geteld("authorization", "onbekend") + geteld("authorization", "bb") == voor_auth + 1


async def verkeerd_wachtwoord(hub: NatsServer) -> str:
    """A login as bb with a wrong password, over the plain protocol: the server's answer."""
    host, poort = hub.url.removeprefix("nats://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(poort))
    try:
        await reader.readline()  # INFO
        writer.write(b'CONNECT {"user":"bb","pass":"geraden","verbose":false}\r\nPING\r\n')
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), 5)).decode()
    finally:
        writer.close()
        await writer.wait_closed()


def test_log_lines_name_kind_and_region_but_never_what_the_sender_chose() -> None:
    o = herken(
        '[1] 2026/12/01 [ERR] 127.0.0.1:5 - cid:7 - "v2:python3" - Publish Violation - '
        'User "wvv", Subject "zvh.111222333.jansen"'
    )
    assert o is not None and (o.soort, o.regio, o.subject) == ("publish", "wvv", "zvh.?.?")
    o = herken('[1] [ERR] 127.0.0.1:5 - lid:3 - Loop detected for leafnode account "REGIO_DEN_BOSCH"')
    assert o is not None and (o.soort, o.regio) == ("loop", "den-bosch")
    o = herken('[1] [ERR] x - Subscription Violation - User "SERIALNUMBER=1,CN=zvh-leaf-arnhem", Subject "a"')
    assert o is not None and o.regio == "arnhem"
    assert herken("[1] [INF] Server is ready") is None


def test_a_rotated_log_is_read_from_its_beginning(tmp_path: Path) -> None:
    pad = tmp_path / "hub.log"
    pad.write_text("oud\n")
    volger = Volger(pad, vanaf_begin=False)
    assert volger.nieuw() == []
    with pad.open("a") as f:
        f.write("een\ntwee")
    assert volger.nieuw() == ["een"]
    pad.rename(tmp_path / "hub.log.1")
    pad.write_text("drie\n")
    assert volger.nieuw() == ["drie"]
