"""The transactional outbox every service publishes its events through.

A service writes an event with ``Outbox.schrijf`` in the same transaction as the state change it
announces (its own table, made from ``OutboxRijBasis``, in its own migration), so the event exists
exactly when the change does. After that transaction commits the relay wakes (``after_commit``,
no polling) and publishes pending rows in order, in batches, with ``Nats-Msg-Id`` = the event's
id and the ``traceparent`` of the call that made it; then it marks them published. A relay killed
between publishing and marking publishes those rows again after a restart, and JetStream drops the
repeats within its duplicate window: each event lands once.

A publication that fails (NATS away, a stream that does not exist yet) is retried: the relay stops
at the failing row's ``partitie`` for this round (later rows of other partitions still go), waits
``interval`` seconds and tries again, never giving up. The backlog per service is the metric
``zvh_outbox_backlog{regio, dienst}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from nats.js import JetStreamContext
from sqlalchemy import Index, Integer, LargeBinary, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from gedeeld.beheer.metrics import OUTBOX_ACHTERSTAND, OUTBOX_GEPUBLICEERD
from gedeeld.beheer.tracing import HEADER, TraceContext, huidig, in_trace
from gedeeld.db import Database, UtcDateTime, na_commit
from gedeeld.fouten import UnavailableError
from gedeeld.klok import Klok


class OutboxRijBasis:
    """The columns of an outbox table; a service declares its own table with it::

    class OutboxRij(OutboxRijBasis, Base):
        __tablename__ = "sg_outbox"
    """

    volgnummer: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gebeurtenis_id: Mapped[str] = mapped_column(String(36), unique=True)  # also the Nats-Msg-Id
    subject: Mapped[str] = mapped_column(String(128))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    traceparent: Mapped[str] = mapped_column(String(64))  # "" when the event has no caller's trace
    aangemaakt_op: Mapped[datetime] = mapped_column(UtcDateTime)
    gepubliceerd_op: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        naam: str = cls.__tablename__  # type: ignore[attr-defined]
        return (Index(f"ix_{naam}_open", "gepubliceerd_op", "volgnummer"),)


R = TypeVar("R", bound=OutboxRijBasis)


class Gebeurtenis(Protocol):
    """A region-local event message: every one carries its own id."""

    gebeurtenis_id: str

    def SerializeToString(self, *, deterministic: bool = ...) -> bytes: ...  # protobuf's name


_WEK = "zvh_outbox_wek"


class Outbox(Generic[R]):
    """One service's outbox table and its relay.

    ``partitie``: which rows must stay in order among themselves (default: all of them); a row that
    cannot be published holds back only later rows of its own partition.
    ``bericht`` and ``velden``: the log line per published event and its fields (no content).
    ``gepubliceerd``: called once per row JetStream acknowledged (e.g. a metric of the service).
    ``js`` None: only writes (a tool working on the database; the service's relay publishes)."""

    def __init__(
        self,
        tabel: type[R],
        db: Database,
        js: JetStreamContext | None,
        regio: str,
        dienst: str,
        klok: Klok,
        *,
        batch: int = 100,
        interval: float = 1.0,
        partitie: Callable[[str], str] = lambda subject: "",
        bericht: str = "outbox event published",
        velden: Callable[[R], dict[str, object]] | None = None,
        gepubliceerd: Callable[[R], None] | None = None,
    ) -> None:
        self.tabel = tabel
        self._db = db
        self._js = js
        self._regio = regio
        self._dienst = dienst
        self._klok = klok
        self._batch = batch
        self._interval = interval
        self._partitie = partitie
        self._bericht = bericht
        self._velden = velden
        self._gepubliceerd = gepubliceerd
        self._wakker = asyncio.Event()
        self._log = logging.getLogger(f"zvh.{dienst}.outbox")

    # -- writing (inside the caller's transaction) ------------------------------------------

    async def schrijf(
        self,
        session: AsyncSession,
        subject: str,
        payload: bytes,
        gebeurtenis_id: str,
        traceparent: str = "",
        *,
        flush: bool = False,
        **extra: Any,
    ) -> R:
        """Queue one event in ``session``'s transaction; the relay wakes once it commits.
        ``flush``: assign ``volgnummer`` now (for a payload that carries it). ``extra``: the
        service's own columns of its table."""
        velden: dict[str, Any] = {
            "gebeurtenis_id": gebeurtenis_id,
            "subject": subject,
            "payload": payload,
            "traceparent": traceparent,
            "aangemaakt_op": self._klok.nu(),
        }
        rij = self.tabel(**velden, **extra)
        session.add(rij)
        if flush:
            await session.flush()
        na_commit(session, f"{_WEK}.{id(self)}", self.wek)
        return rij

    async def gebeurtenis(self, session: AsyncSession, subject: str, bericht: Gebeurtenis) -> R:
        """Queue a region-local event (a contract of gebeurtenis.proto): a new ``gebeurtenis_id``
        (also its Nats-Msg-Id), the ambient trace continued by its consumers."""
        bericht.gebeurtenis_id = str(uuid.uuid4())
        trace = huidig()
        return await self.schrijf(
            session,
            subject,
            bericht.SerializeToString(),
            bericht.gebeurtenis_id,
            trace.traceparent if trace is not None else "",
        )

    def wek(self) -> None:
        self._wakker.set()

    # -- the relay ----------------------------------------------------------------------------

    async def achterstand(self) -> int:
        """Events committed but not yet published (also set as the backlog metric)."""
        t = self.tabel
        async with self._db.lezen() as s:
            stmt = select(func.count()).select_from(t).where(t.gepubliceerd_op.is_(None))
            n = int((await s.execute(stmt)).scalar_one())
        OUTBOX_ACHTERSTAND.labels(self._regio, self._dienst).set(n)
        return n

    async def publiceer_batch(self) -> int:
        """Publish up to ``batch`` pending events in order and mark them; returns how many were
        published. The first failure is raised after the rows published before it are marked."""
        t = self.tabel
        async with self._db.lezen() as s:
            stmt = select(t).where(t.gepubliceerd_op.is_(None)).order_by(t.volgnummer).limit(self._batch)
            rijen = list((await s.execute(stmt)).scalars())
        gedaan: list[int] = []
        geblokkeerd: set[str] = set()
        fout: Exception | None = None
        try:
            for rij in rijen:
                if self._partitie(rij.subject) in geblokkeerd:
                    continue
                try:
                    await self._publiceer(rij)
                except Exception as exc:
                    geblokkeerd.add(self._partitie(rij.subject))
                    fout = fout or exc
                    continue
                gedaan.append(rij.volgnummer)
        finally:
            if gedaan:
                async with self._db.transaction() as s:
                    await s.execute(
                        update(t).where(t.volgnummer.in_(gedaan)).values(gepubliceerd_op=self._klok.nu())
                    )
        if fout is not None:
            raise fout
        return len(gedaan)

    async def _publiceer(self, rij: R) -> None:
        if self._js is None:
            raise UnavailableError("this outbox only writes; the service's relay publishes")
        kop = {"Nats-Msg-Id": rij.gebeurtenis_id}
        if rij.traceparent:
            kop[HEADER] = rij.traceparent
        # The event carries the traceparent of the call that committed it, so its consumers
        # (and through them other regions) continue that trace.
        with in_trace(TraceContext.parse(rij.traceparent)):
            ack = await self._js.publish(rij.subject, rij.payload, headers=kop, timeout=5)
            OUTBOX_GEPUBLICEERD.labels(self._regio, self._dienst, str(ack.duplicate).lower()).inc()
            if self._gepubliceerd is not None:
                self._gepubliceerd(rij)
            self._log.info(
                self._bericht,
                extra={
                    "regio": self._regio,
                    "gebeurtenis_id": rij.gebeurtenis_id,
                    "soort": rij.subject.rsplit(".", 1)[-1],
                    "duplicate": ack.duplicate,
                    **(self._velden(rij) if self._velden else {}),
                },
            )

    async def draai(self) -> None:
        """Run until cancelled; a NATS or database error waits ``interval`` and retries."""
        while True:
            self._wakker.clear()  # before publishing, so a commit during the batch is not missed
            try:
                while await self.publiceer_batch() == self._batch:
                    pass
                await self.achterstand()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._log.warning(
                    "outbox relay retrying", extra={"regio": self._regio, "error": type(exc).__name__}
                )
                with contextlib.suppress(Exception):
                    await self.achterstand()
            taak = asyncio.current_task()
            if taak is not None and taak.cancelling():
                # A cancel that landed inside a database call can come back swallowed (SQLAlchemy's
                # greenlet); honour it here rather than wait out the interval (gedeeld/nats/jetstream.py).
                raise asyncio.CancelledError
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wakker.wait()


def maak_tabel(naam: str) -> None:
    """Create an outbox table ``naam`` in an Alembic migration (the columns of ``OutboxRijBasis``).

    Used by migrations: a change of the columns above needs a new migration in every service, not
    a change here."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        naam,
        sa.Column("volgnummer", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("gebeurtenis_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("traceparent", sa.String(64), nullable=False),
        sa.Column("aangemaakt_op", UtcDateTime, nullable=False),
        sa.Column("gepubliceerd_op", UtcDateTime, nullable=True),
    )
    op.create_index(f"ix_{naam}_open", naam, ["gepubliceerd_op", "volgnummer"])
