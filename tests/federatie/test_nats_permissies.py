"""The hub's accounts and per-region permissions, enforced by a real (single) nats-server.

Each region is its own account; what it may send, fetch and answer crosses into the federation's
account FED (streams, consumers) or another region's account only where ``gedeeld.nats.hubconfig``
exports and imports it, and its user's permissions list exactly that (so anything else is refused
and logged by nats-server as a permissions violation).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig

from gedeeld.nats import onderwerpen
from gedeeld.nats.hubconfig import hub_config, inbox_prefix, stroom
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import bevestig

REGIOS = ["aa", "bb"]
WACHTWOORD = {"aa": "pw-a", "bb": "pw-b"}
MET_FOUT = (nats.js.errors.Error, nats.errors.NoRespondersError, nats.errors.TimeoutError)


async def start_hub(tmp_path: Path) -> NatsServer:
    """A single hub nats-server with the accounts of REGIOS (password ``root`` for beheer)."""
    conf = tmp_path / "hub.conf"
    conf.write_text(hub_config(REGIOS, WACHTWOORD, store_dir=str(tmp_path / "js"), beheer_wachtwoord="root"))
    server = NatsServer(tmp_path / "nats", config=conf)
    await server.start()
    return server


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[NatsServer]:
    server = await start_hub(tmp_path)
    beheer = await nats.connect(server.url, user="beheer", password="root")
    js = beheer.jetstream()
    for spec in onderwerpen.stromen(REGIOS):
        await js.add_stream(spec.config(afzenders=len(REGIOS)))
    for r in REGIOS:
        for c in onderwerpen.consumenten(r):
            await js.add_consumer(c.stroom, c.config())
    await beheer.close()
    try:
        yield server
    finally:
        await server.stop()


class Fouten:
    """What nats-server reported to a client (nats-py hands each error to ``error_cb`` in a task of
    its own, so it may come after the flush that followed the offending command returned)."""

    def __init__(self) -> None:
        self.lijst: list[Exception] = []
        self._nieuw = asyncio.Event()

    async def bij(self, e: Exception) -> None:
        self.lijst.append(e)
        self._nieuw.set()

    def schendingen(self) -> int:
        return sum("permissions violation" in str(e).lower() for e in self.lijst)

    async def wacht_op(self, aantal: int, seconden: float = 10) -> int:
        """The permissions violations reported, once there are ``aantal`` (or the time is up)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconden):
                while self.schendingen() < aantal:
                    self._nieuw.clear()
                    await self._nieuw.wait()
        return self.schendingen()


async def als(server: NatsServer, regio: str, fouten: Fouten) -> Client:
    return await nats.connect(
        server.url,
        user=regio,
        password=WACHTWOORD[regio],
        inbox_prefix=inbox_prefix(regio),
        error_cb=fouten.bij,
    )


async def beheer_js(server: NatsServer) -> tuple[Client, nats.js.JetStreamContext]:
    nc = await nats.connect(server.url, user="beheer", password="root")
    return nc, nc.jetstream()


async def test_region_b_cannot_publish_a_signal_or_a_treffer_as_a(hub: NatsServer) -> None:
    fouten = Fouten()
    b = await als(hub, "bb", fouten)
    for vervalst in (
        onderwerpen.signaal("aa"),
        onderwerpen.treffer("bb", "aa"),
        onderwerpen.treffer("aa", "aa"),
    ):
        await b.publish(vervalst, b"vervalst")
    await bevestig(b)
    gemeld = await fouten.wacht_op(3)
    nc, js = await beheer_js(hub)
    signalen = (await js.stream_info("SIGNALEN")).state.messages
    treffers = [(await js.stream_info(stroom("treffer", r))).state.messages for r in REGIOS]
    await nc.close()
    await b.close()
    assert signalen == 0 and treffers == [0, 0]
    assert gemeld == 3


async def test_region_b_publishes_its_own_signal_and_a_reads_it_from_its_consumer(hub: NatsServer) -> None:
    a, b = await als(hub, "aa", Fouten()), await als(hub, "bb", Fouten())
    ack = await b.jetstream().publish(onderwerpen.signaal("bb"), b"ok")
    assert ack.stream == "SIGNALEN"
    ack = await b.jetstream().publish(onderwerpen.treffer("aa", "bb"), b"treffer")
    assert ack.stream == stroom("treffer", "aa")
    [msg] = await (await a.jetstream().pull_subscribe_bind("aa", "SIGNALEN")).fetch(1, timeout=5)
    assert msg.subject == "zvh.signaal.bb"
    await msg.ack_sync()
    [t] = await (await a.jetstream().pull_subscribe_bind("aa", stroom("treffer", "aa"))).fetch(1, timeout=5)
    assert (t.subject, t.data) == (onderwerpen.treffer("aa", "bb"), b"treffer")
    await a.close()
    await b.close()


async def test_region_b_cannot_read_treffers_for_a_nor_touch_its_consumers(hub: NatsServer) -> None:
    fouten = Fouten()
    b = await als(hub, "bb", fouten)
    sub = await b.subscribe("zvh.treffer.aa.*")
    await bevestig(b)
    await b.jetstream().publish(onderwerpen.treffer("aa", "bb"), b"geheim")  # anyone may send a treffer to a
    with pytest.raises(nats.errors.TimeoutError):
        await sub.next_msg(timeout=0.5)
    assert await fouten.wacht_op(1) >= 1
    js = b.jetstream(timeout=1)
    with pytest.raises(MET_FOUT):
        await (await js.pull_subscribe_bind("aa", stroom("treffer", "aa"))).fetch(1, timeout=1)
    # No consumer of its own making either: not a pull consumer, and not a push consumer whose
    # deliveries would land on a's API subjects (moving a's consumer far ahead: matches lost).
    for config in (
        ConsumerConfig(durable_name="bb-eigen"),
        ConsumerConfig(durable_name="sluiper", deliver_subject="$JS.API.CONSUMER.RESET.SIGNALEN.aa"),
    ):
        with pytest.raises(MET_FOUT):
            await js.add_consumer("SIGNALEN", config)
    with pytest.raises(MET_FOUT):
        await js.delete_consumer("SIGNALEN", "aa")
    nc, beheer = await beheer_js(hub)
    assert {c.name for c in await beheer.consumers_info("SIGNALEN")} == {"aa", "bb"}
    await nc.close()
    await b.close()


async def test_requests_and_replies_between_regions(hub: NatsServer) -> None:
    a, b = await als(hub, "aa", Fouten()), await als(hub, "bb", Fouten())

    async def antwoord(msg: Msg) -> None:
        await msg.respond(b"evaluatie")

    await a.subscribe(onderwerpen.oprf("aa"), cb=antwoord)
    await bevestig(a)
    reply = await b.request(onderwerpen.oprf("aa"), b"verzoek", timeout=5)
    assert reply.data == b"evaluatie"
    # b's own subject is not a's to answer: a cannot even subscribe to it.
    fouten = Fouten()
    a2 = await als(hub, "aa", fouten)
    await a2.subscribe(onderwerpen.oprf("bb"))
    await bevestig(a2)
    assert await fouten.wacht_op(1) >= 1
    for c in (a, a2, b):
        await c.close()


async def test_a_region_reaches_the_beheerder_in_a_key_ceremony_only_as_itself(hub: NatsServer) -> None:
    beheer = await nats.connect(hub.url, user="beheer", password="root")
    gezien: list[str] = []

    async def relay(msg: Msg) -> None:
        gezien.append(msg.subject)
        await msg.respond(b"bundel")

    await beheer.subscribe("zvh.dkg.>", cb=relay)
    await bevestig(beheer)
    bb = await als(hub, "bb", Fouten())
    antwoord = await bb.request(onderwerpen.dkg("r1", "bb"), b"deel", timeout=5)
    assert antwoord.data == b"bundel"
    with pytest.raises(nats.errors.Error):  # as another region: refused, no responder
        await bb.request(onderwerpen.dkg("r1", "aa"), b"vervalst", timeout=1)
    assert gezien == [onderwerpen.dkg("r1", "bb")]
    await bb.close()
    await beheer.close()
