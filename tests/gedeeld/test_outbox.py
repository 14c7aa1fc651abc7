"""The one outbox (gedeeld/nats/outbox.py), on its own table, with a real nats-server and database."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import NoStreamResponseError
from sqlalchemy import select, update
from sqlalchemy.orm import DeclarativeBase

from gedeeld.beheer.tracing import HEADER, TraceContext
from gedeeld.db import Database
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import zorg_voor_stroom
from gedeeld.nats.outbox import Outbox, OutboxRijBasis
from tests.conftest import VerschuifbareKlok, begrensd


class Base(DeclarativeBase):
    pass


class ProefRij(OutboxRijBasis, Base):
    __tablename__ = "proef_outbox"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield db
    finally:
        await begrensd("database close", db.close())


async def stroom(nc: Client) -> None:
    await zorg_voor_stroom(nc.jetstream(), onderwerpen.regiostroom_config("wvv", timedelta(days=1)))


def outbox(
    db: Database, nc: Client, *, interval: float = 1.0, partitie: Callable[[str], str] = lambda subject: ""
) -> Outbox[ProefRij]:
    klok = VerschuifbareKlok()
    return Outbox(ProefRij, db, nc.jetstream(), "wvv", "proef", klok, interval=interval, partitie=partitie)


async def schrijf(o: Outbox[ProefRij], db: Database, *subjects: str, trace: str = "") -> list[str]:
    ids = []
    async with db.transaction() as s:
        for i, subject in enumerate(subjects):
            ids.append(str(uuid.uuid4()))
            await o.schrijf(s, subject, f"bericht {i}".encode(), ids[-1], trace)
    return ids


async def op_stroom(nc: Client) -> list[Msg]:
    js = nc.jetstream()
    n = (await js.stream_info("REGIO_WVV")).state.messages
    if not n:
        return []
    sub = await js.pull_subscribe("regio.wvv.>", durable=None, stream="REGIO_WVV")
    uit: list[Msg] = []
    while len(uit) < n:
        uit += await sub.fetch(n - len(uit), timeout=5)
    await sub.unsubscribe()
    return uit


async def test_published_in_order_once_with_msg_id_and_trace_across_a_restart(
    db: Database, nc: Client
) -> None:
    await stroom(nc)
    eerste = outbox(db, nc)
    trace = TraceContext.new().traceparent
    ids = await schrijf(eerste, db, *(f"regio.wvv.proef.{i}" for i in range(3)), trace=trace)
    assert await eerste.achterstand() == 3
    assert await eerste.publiceer_batch() == 3
    # The state a relay leaves when it dies after publishing, before its mark commits:
    async with db.transaction() as s:
        await s.execute(update(ProefRij).values(gepubliceerd_op=None))
    herstart = outbox(db, nc)
    assert await herstart.publiceer_batch() == 3
    assert await herstart.achterstand() == 0

    msgs = await op_stroom(nc)
    assert [m.subject for m in msgs] == [f"regio.wvv.proef.{i}" for i in range(3)]
    assert [(m.headers or {})["Nats-Msg-Id"] for m in msgs] == ids
    assert all((m.headers or {})[HEADER] == trace for m in msgs)


async def test_the_relay_wakes_on_commit_not_on_its_interval(db: Database, nc: Client) -> None:
    await stroom(nc)
    o = outbox(db, nc, interval=3600.0)
    aangekomen: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()

    async def bij(msg: Msg) -> None:
        if not aangekomen.done():
            aangekomen.set_result(msg)

    sub = await nc.subscribe("regio.wvv.proef.>", cb=bij)
    taak = asyncio.create_task(o.draai())
    try:
        await asyncio.sleep(0)  # the relay's first (empty) round starts its hour-long wait
        [gebeurtenis_id] = await schrijf(o, db, "regio.wvv.proef.wek")
        msg = await asyncio.wait_for(aangekomen, 10)  # far below the relay's interval
        assert (msg.headers or {})["Nats-Msg-Id"] == gebeurtenis_id
    finally:
        taak.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await taak
        await sub.unsubscribe()


class GevolgdeOutbox(Outbox[ProefRij]):
    """Tells when its relay has looked for rows (``gekeken``)."""

    def __init__(self, db: Database, nc: Client) -> None:
        super().__init__(ProefRij, db, nc.jetstream(), "wvv", "proef", VerschuifbareKlok(), interval=3600.0)
        self.gekeken = asyncio.Event()

    async def publiceer_batch(self) -> int:
        try:
            return await super().publiceer_batch()
        finally:
            self.gekeken.set()


async def test_a_row_written_in_a_savepoint_wakes_the_relay_at_the_outer_commit(
    db: Database, nc: Client
) -> None:
    # SQLAlchemy fires after_commit when a savepoint is released too. A relay woken then finds
    # nothing committed and would sleep out its interval (here an hour): the match event of a
    # signal that hit waited a second for the next poll before this was fixed.
    await stroom(nc)
    o = GevolgdeOutbox(db, nc)
    taak = asyncio.create_task(o.draai())
    sub = await nc.subscribe("regio.wvv.proef.>")
    try:
        await asyncio.wait_for(o.gekeken.wait(), 10)  # its first, empty round
        o.gekeken.clear()
        gebeurtenis_id = str(uuid.uuid4())
        async with db.transaction() as s:
            async with s.begin_nested():
                await o.schrijf(s, "regio.wvv.proef.genest", b"genest", gebeurtenis_id)
            # A wrong wake at the release makes the relay look now, before the commit.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(o.gekeken.wait(), 1)
        msg = await sub.next_msg(timeout=10)  # far below the relay's interval
        assert (msg.headers or {})["Nats-Msg-Id"] == gebeurtenis_id
    finally:
        taak.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await taak
        await sub.unsubscribe()


async def test_a_rolled_back_transaction_leaves_nothing_to_publish(db: Database, nc: Client) -> None:
    o = outbox(db, nc)

    async def mislukt() -> None:
        async with db.transaction() as s:
            await o.schrijf(s, "regio.wvv.proef.x", b"x", str(uuid.uuid4()))
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError, match="state change failed"):
        await mislukt()
    assert await o.achterstand() == 0


async def test_a_failing_subject_holds_back_only_its_own_partition(db: Database, nc: Client) -> None:
    await stroom(nc)
    # "zvh.overleg.nergens.wvv": no stream captures it (that region never started), so JetStream
    # has no responder for it.
    per_subject = outbox(db, nc, partitie=lambda subject: subject)
    await schrijf(per_subject, db, "zvh.overleg.nergens.wvv", "regio.wvv.proef.a", "regio.wvv.proef.b")
    with pytest.raises(NoStreamResponseError):  # the first failure is raised, after marking the rest
        await per_subject.publiceer_batch()
    assert [m.subject for m in await op_stroom(nc)] == ["regio.wvv.proef.a", "regio.wvv.proef.b"]
    async with db.lezen() as s:
        open_ = list(
            (await s.execute(select(ProefRij.subject).where(ProefRij.gepubliceerd_op.is_(None)))).scalars()
        )
    assert open_ == ["zvh.overleg.nergens.wvv"]

    # One partition (the default): nothing overtakes the stuck event.
    alles = outbox(db, nc)
    await schrijf(alles, db, "regio.wvv.proef.c")
    with pytest.raises(NoStreamResponseError):
        await alles.publiceer_batch()
    assert len(await op_stroom(nc)) == 2
    assert await alles.achterstand() == 2
