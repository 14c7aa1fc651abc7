"""The outbox relay: publishes committed case events to the region's JetStream.

Events go to ``regio.<regio>.casus.<soort>`` with ``Nats-Msg-Id`` = event id.
A relay killed after publishing but before marking the row publishes it again
on restart; JetStream drops the repeat within the duplicate window, so each
event lands once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.js import JetStreamContext
from sqlalchemy import func, select, update

from gedeeld.db import Database
from gedeeld.klok import Klok
from gedeeld.metrics import OUTBOX_ACHTERSTAND, OUTBOX_GEPUBLICEERD
from gedeeld.tracing import HEADER, TraceContext, in_trace
from services.casusregister.store import OutboxRij

log = logging.getLogger("zvh.casusregister.outbox")


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        regio: str,
        klok: Klok,
        *,
        batch: int = 100,
        interval: float = 1.0,
    ) -> None:
        self._db = db
        self._js = js
        self._regio = regio
        self._klok = klok
        self._batch = batch
        self._interval = interval
        self._wakker = asyncio.Event()

    def wek(self) -> None:
        self._wakker.set()

    async def achterstand(self) -> int:
        async with self._db.lezen() as s:
            stmt = select(func.count()).select_from(OutboxRij).where(OutboxRij.gepubliceerd_op.is_(None))
            n = int((await s.execute(stmt)).scalar_one())
        OUTBOX_ACHTERSTAND.labels(self._regio).set(n)
        return n

    async def publiceer_batch(self) -> int:
        """Publish up to ``batch`` pending events in order; returns how many."""
        async with self._db.lezen() as s:
            stmt = (
                select(OutboxRij)
                .where(OutboxRij.gepubliceerd_op.is_(None))
                .order_by(OutboxRij.volgnummer)
                .limit(self._batch)
            )
            rijen = list((await s.execute(stmt)).scalars())
        if not rijen:
            return 0
        for rij in rijen:
            # The event carries the traceparent of the RPC that committed it (stored in the row),
            # so signalering, and through it the other regions, continue that trace.
            with in_trace(TraceContext.parse(rij.traceparent)):
                ack = await self._js.publish(
                    rij.subject,
                    rij.payload,
                    headers={"Nats-Msg-Id": rij.gebeurtenis_id, HEADER: rij.traceparent},
                )
                OUTBOX_GEPUBLICEERD.labels(self._regio, str(ack.duplicate).lower()).inc()
                log.info(
                    "case event published",
                    extra={
                        "regio": self._regio,
                        "casus_id": rij.casus_id,
                        "gebeurtenis_id": rij.gebeurtenis_id,
                        "soort": rij.subject.rsplit(".", 1)[-1],
                        "duplicate": ack.duplicate,
                    },
                )
        async with self._db.transaction() as s:
            await s.execute(
                update(OutboxRij)
                .where(OutboxRij.volgnummer.in_([r.volgnummer for r in rijen]))
                .values(gepubliceerd_op=self._klok.nu())
            )
        return len(rijen)

    async def draai(self) -> None:
        """Run until cancelled; a NATS or database error waits and retries, never stops."""
        while True:
            self._wakker.clear()  # before publishing, so a commit during the batch is not missed
            try:
                while await self.publiceer_batch() == self._batch:
                    pass
                await self.achterstand()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay retrying", extra={"error": type(exc).__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakker.wait(), self._interval)
