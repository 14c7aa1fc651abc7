"""Transactional outbox to the region's JetStream, with a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client
from sqlalchemy import update

from gedeeld.nats import onderwerpen
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from services.casusregister.events import casus_outbox
from services.casusregister.store import OutboxRij
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import aanmelding

IC = "ic-carla"


async def berichten(nc: Client, regio: str = "wvv") -> list[tuple[str, G.CasusGebeurtenis, dict[str, str]]]:
    js = nc.jetstream()
    info = await js.stream_info(onderwerpen.regiostroom(regio))
    sub = await js.pull_subscribe(f"regio.{regio}.>", durable=None, stream=onderwerpen.regiostroom(regio))
    out = []
    remaining = info.state.messages
    while remaining:
        for m in await sub.fetch(remaining, timeout=5):
            await m.ack()
            out.append((m.subject, G.CasusGebeurtenis.FromString(m.data), dict(m.headers or {})))
            remaining -= 1
    await sub.unsubscribe()
    return out


async def wacht_tot_gepubliceerd(r: RegisterOpLoopback) -> None:
    while await r.service.relay.publiceer_batch():
        pass


async def test_every_change_lands_once_in_order_with_msg_id(register: RegisterOpLoopback, nc: Client) -> None:
    c = (await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))).casus
    await register.stub.Toewijzen(
        S.ToewijzenRequest(casus_id=c.casus_id, procesregisseur="pr-anna"), metadata=register.als(IC)
    )
    await register.stub.Afsluiten(
        S.AfsluitenRequest(casus_id=c.casus_id, reden=S.AFSLUIT_REDEN_VERHUISD),
        metadata=register.als("pr-anna"),
    )
    await wacht_tot_gepubliceerd(register)

    msgs = await berichten(nc)
    assert [m[0] for m in msgs] == [
        "regio.wvv.casus.aangemeld",
        "regio.wvv.casus.toegewezen",
        "regio.wvv.casus.afgesloten",
    ]
    assert [m[1].casus.versie for m in msgs] == [1, 2, 3]
    assert all(m[2]["Nats-Msg-Id"] == m[1].gebeurtenis_id for m in msgs)
    assert msgs[0][1].casus.betrokkenen[0].bsn  # region-local: raw identifiers, never federated


async def test_relay_killed_between_publish_and_mark_publishes_once(
    register: RegisterOpLoopback, nc: Client
) -> None:
    for _ in range(3):
        await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))
    await wacht_tot_gepubliceerd(register)
    # The state a relay leaves when it dies after publishing, before its mark commits:
    async with register.db.transaction() as s:
        await s.execute(update(OutboxRij).values(gepubliceerd_op=None))

    herstart = casus_outbox(register.db, nc.jetstream(), "wvv", register.klok)
    assert await herstart.publiceer_batch() == 3

    msgs = await berichten(nc)
    assert len(msgs) == 3
    assert len({m[1].gebeurtenis_id for m in msgs}) == 3
    assert await herstart.achterstand() == 0


async def test_events_committed_while_relay_down_are_published_after_restart(
    register: RegisterOpLoopback, nc: Client
) -> None:
    relay_taak = register.service._taken[0]
    relay_taak.cancel()  # the relay dies; gRPC and the database keep going
    with contextlib.suppress(asyncio.CancelledError):
        await relay_taak
    c = (await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))).casus

    assert await berichten(nc) == []
    herstart = casus_outbox(register.db, nc.jetstream(), "wvv", register.klok)
    assert await herstart.achterstand() == 1
    assert await herstart.publiceer_batch() == 1

    msgs = await berichten(nc)
    assert [m[1].casus.casus_id for m in msgs] == [c.casus_id]
