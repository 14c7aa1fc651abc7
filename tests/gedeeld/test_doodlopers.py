"""StroomLezer: a growing delay for transient failures, and dead letters at the last delivery
(real nats-server, real JetStream)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from prometheus_client import REGISTRY

from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import (
    DOOD_AFLEVERINGEN,
    DOOD_STROOM,
    DOOD_SUBJECT,
    DOOD_VOLGNUMMER,
    MAX_OPNIEUW_NA,
    DodeBrieven,
    StroomLezer,
    Uitkomst,
    wachttijd,
    zorg_voor_stroom,
)


def dood(stroom: str, soort: str) -> float:
    return (
        REGISTRY.get_sample_value("zvh_federation_dead_letters_total", {"stroom": stroom, "soort": soort})
        or 0.0
    )


def test_the_delay_doubles_up_to_its_maximum_and_max_deliveries_span_hours() -> None:
    assert [wachttijd(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert wachttijd(30, 2.0) == MAX_OPNIEUW_NA
    totaal = sum(wachttijd(n, 2.0) for n in range(1, onderwerpen.MAX_AFLEVERINGEN))
    assert totaal > 3600  # an outage of an hour and more is retried, not given up


@contextlib.asynccontextmanager
async def lezend(lezer: StroomLezer) -> AsyncIterator[None]:
    taak = asyncio.create_task(lezer.draai())
    try:
        yield
    finally:
        taak.cancel()
        await asyncio.gather(taak, return_exceptions=True)


async def test_a_message_failing_at_its_last_delivery_becomes_a_dead_letter_and_does_not_stall(
    nc: Client,
) -> None:
    js = nc.jetstream()
    await zorg_voor_stroom(js, StreamConfig(name="TREFFER_WVV", subjects=["zvh.treffer.wvv.*"]))
    # The region-local stream that keeps the dead letters (REGIO_<R> in a node).
    await zorg_voor_stroom(js, StreamConfig(name="REGIO_WVV", subjects=["regio.wvv.>"]))
    await js.publish("zvh.treffer.wvv.arnhem", b"blijft mislukken", headers={"Nats-Msg-Id": "m-1", "x": "1"})
    await js.publish("zvh.treffer.wvv.haaglanden", b"gaat goed")
    afleveringen: list[int] = []
    klaar = asyncio.Event()

    async def handler(msg: Msg) -> Uitkomst:
        if msg.data == b"gaat goed":
            klaar.set()
            return Uitkomst.KLAAR
        afleveringen.append(msg.metadata.num_delivered)
        raise RuntimeError("a database that refuses this message, every time")

    voor = dood("TREFFER_WVV", "treffer")
    config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_deliver=3)
    lezer = StroomLezer(
        js,
        stroom="TREFFER_WVV",
        subject="zvh.treffer.wvv.*",
        durable="wvv",
        handler=handler,
        opnieuw_na=0.05,
        config=config,
        soort="treffer",
        dood=DodeBrieven(js, "wvv"),
    )
    async with lezend(lezer), asyncio.timeout(20):
        await klaar.wait()  # the failing message did not hold up the next one
        while lezer.opgegeven < 1:  # noqa: ASYNC110 (the counter has no event)
            await asyncio.sleep(0.05)
    assert afleveringen == [1, 2, 3]
    assert dood("TREFFER_WVV", "treffer") - voor == 1
    # The copy: data and original headers, with where it came from; an operator can replay it.
    sub = await js.pull_subscribe(
        onderwerpen.dode_brief("wvv", "TREFFER_WVV"), durable="beheer", stream="REGIO_WVV"
    )
    [brief] = await sub.fetch(1, timeout=5)
    assert brief.data == b"blijft mislukken"
    assert brief.headers is not None
    assert brief.headers["x"] == "1"
    assert brief.headers[DOOD_SUBJECT] == "zvh.treffer.wvv.arnhem"
    assert brief.headers[DOOD_STROOM] == "TREFFER_WVV"
    assert brief.headers[DOOD_VOLGNUMMER] == "1"
    assert brief.headers[DOOD_AFLEVERINGEN] == "3"
    # Terminated: not pending on the consumer any more.
    info = await js.consumer_info("TREFFER_WVV", "wvv")
    assert (info.num_ack_pending, info.num_pending) == (0, 0)


async def test_bind_only_never_creates_the_consumer(nc: Client) -> None:
    js = nc.jetstream()
    await zorg_voor_stroom(js, StreamConfig(name="SIGNALEN", subjects=["zvh.signaal.*"]))
    await js.publish("zvh.signaal.arnhem", b"s")
    gezien = asyncio.Event()

    async def handler(msg: Msg) -> Uitkomst:
        gezien.set()
        return Uitkomst.KLAAR

    spec = onderwerpen.consument(onderwerpen.SIGNALEN, "wvv")

    def lezer() -> StroomLezer:
        return StroomLezer(
            js,
            stroom=spec.stroom,
            subject=spec.filter,
            durable=spec.durable,
            handler=handler,
            config=spec.config(),
            alleen_binden=True,
        )

    eerste = lezer()
    async with lezend(eerste):
        # It keeps trying to bind (a consumer the hub's operators have not made yet) ...
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                await gezien.wait()
    assert [c.name for c in await js.consumers_info(spec.stroom)] == []  # ... and never makes it
    # Once the operators made it (with the spec's config), the same reader reads from it.
    await js.add_consumer(spec.stroom, spec.config())
    async with lezend(lezer()), asyncio.timeout(20):
        await gezien.wait()
    info = await js.consumer_info(spec.stroom, spec.durable)
    assert info.config.max_deliver == onderwerpen.MAX_AFLEVERINGEN


def test_a_reader_takes_a_handler_or_a_batch_handler() -> None:
    async def een(_msg: Msg) -> Uitkomst:
        return Uitkomst.KLAAR

    async def alle(berichten: list[Msg]) -> list[Uitkomst]:
        return [Uitkomst.KLAAR] * len(berichten)

    js = cast(JetStreamContext, None)  # never used: the choice is checked when the reader is made
    for handlers in ({}, {"handler": een, "batch_handler": alle}):
        with pytest.raises(TypeError, match="one of the two"):
            StroomLezer(js, stroom="S", subject="s.>", durable="d", **handlers)  # type: ignore[arg-type]
    StroomLezer(js, stroom="S", subject="s.>", durable="d", batch_handler=alle)
