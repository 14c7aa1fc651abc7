"""The hub's per-region permissions, enforced by a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import StreamConfig
from nats.js.errors import APIError

from gedeeld.nats import bevestig
from gedeeld.natsconfig import hub_config, inbox_prefix, stroom
from gedeeld.natsserver import NatsServer

REGIOS = ["aa", "bb"]
WACHTWOORD = {"aa": "pw-a", "bb": "pw-b"}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[NatsServer]:
    conf = tmp_path / "hub.conf"
    conf.write_text(hub_config(REGIOS, WACHTWOORD, store_dir=str(tmp_path / "js"), beheer_wachtwoord="root"))
    server = NatsServer(tmp_path / "nats", config=conf)
    await server.start()
    beheer = await nats.connect(server.url, user="beheer", password="root")
    js = beheer.jetstream()
    await js.add_stream(StreamConfig(name="SIGNALEN", subjects=["zvh.signaal.*"]))
    for r in REGIOS:
        await js.add_stream(StreamConfig(name=stroom("treffer", r), subjects=[f"zvh.treffer.{r}"]))
    await beheer.close()
    try:
        yield server
    finally:
        await server.stop()


async def als(server: NatsServer, regio: str, fouten: list[Exception]) -> Client:
    async def fout(e: Exception) -> None:
        fouten.append(e)

    return await nats.connect(
        server.url, user=regio, password=WACHTWOORD[regio], inbox_prefix=inbox_prefix(regio), error_cb=fout
    )


async def test_region_b_cannot_publish_a_signal_as_a(hub: NatsServer) -> None:
    fouten: list[Exception] = []
    b = await als(hub, "bb", fouten)
    await b.publish("zvh.signaal.aa", b"vervalst")
    await bevestig(b)
    await asyncio.sleep(0.2)  # the server reports the violation asynchronously
    beheer = await nats.connect(hub.url, user="beheer", password="root")
    info = await beheer.jetstream().stream_info("SIGNALEN")
    await beheer.close()
    await b.close()
    assert info.state.messages == 0
    assert any("permissions violation" in str(e).lower() for e in fouten)


async def test_region_b_can_publish_its_own_signal_and_a_can_read_it(hub: NatsServer) -> None:
    a, b = await als(hub, "aa", []), await als(hub, "bb", [])
    sub = await a.subscribe("zvh.signaal.*")
    await bevestig(a)
    await b.jetstream().publish("zvh.signaal.bb", b"ok")
    msg = await sub.next_msg(timeout=5)
    assert msg.subject == "zvh.signaal.bb"
    await a.close()
    await b.close()


async def test_region_b_cannot_read_treffers_for_a(hub: NatsServer) -> None:
    fouten: list[Exception] = []
    b = await als(hub, "bb", fouten)
    sub = await b.subscribe("zvh.treffer.aa")
    await bevestig(b)
    a = await als(hub, "aa", [])
    await a.publish("zvh.treffer.aa", b"geheim")  # anyone may publish a treffer to a
    await bevestig(a)
    with pytest.raises(nats.errors.TimeoutError):
        await sub.next_msg(timeout=0.5)
    assert any("permissions violation" in str(e).lower() for e in fouten)
    # Nor through JetStream: b may not create a consumer on a's treffer stream.
    with pytest.raises((APIError, nats.errors.TimeoutError)):
        await b.jetstream().pull_subscribe("zvh.treffer.aa", durable="bb", stream=stroom("treffer", "aa"))
    await a.close()
    await b.close()


async def test_requests_and_replies_between_regions(hub: NatsServer) -> None:
    a, b = await als(hub, "aa", []), await als(hub, "bb", [])

    async def antwoord(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(b"evaluatie")

    await a.subscribe("zvh.oprf.aa", cb=antwoord)
    await bevestig(a)
    reply = await b.request("zvh.oprf.aa", b"verzoek", timeout=5)
    assert reply.data == b"evaluatie"
    await a.close()
    await b.close()
