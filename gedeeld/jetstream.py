"""Durable pull consumers that survive a nats-server restart.

``StroomLezer`` fetches in batches, hands each message to a handler and acts on
its ``Uitkomst``: KLAAR acks, OPNIEUW naks with a delay (redelivered later),
WEIGER terminates (never redelivered; the handler has counted and logged it).
A handler that raises is treated as OPNIEUW, so a bug or outage loses nothing.
Any error other than "no messages" re-creates the subscription after a pause:
nats.py pull subscriptions can go stale after a server restart (nats.py #504).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import BadRequestError

from gedeeld.metrics import CONSUMER_ACHTERSTAND
from gedeeld.tracing import from_headers, in_trace

log = logging.getLogger("zvh.jetstream")


class Uitkomst(enum.Enum):
    KLAAR = "klaar"
    OPNIEUW = "opnieuw"
    WEIGER = "weiger"


Handler = Callable[[Msg], Awaitable[Uitkomst]]
BatchHandler = Callable[[list[Msg]], Awaitable[list[Uitkomst]]]


async def zorg_voor_stroom(js: JetStreamContext, config: StreamConfig) -> None:
    """Create or update a stream (in a hub deployment the beheer user has done this already)."""
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


def _stop_als_geannuleerd() -> None:
    """Raise CancelledError when this task was asked to stop but is still running.

    A cancel that lands while nats-py's fetch waits for a message can come back as its timeout
    (the inner wait finished at the same moment and Python 3.11 drops the cancel): the reader would
    then fetch on for ever and the ``stop()`` that awaits it would hang. ``cancelling()`` still
    counts the request, so honour it here."""
    taak = asyncio.current_task()
    if taak is not None and taak.cancelling():
        raise asyncio.CancelledError


class StroomLezer:
    def __init__(
        self,
        js: JetStreamContext,
        *,
        stroom: str,
        subject: str,
        durable: str,
        handler: Handler,
        batch: int = 32,
        opnieuw_na: float = 2.0,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        """``batch_handler``, when given, gets every fetched batch at once (in stream order) and
        returns one outcome per message; ``handler`` then is unused."""
        self._js = js
        self._stroom = stroom
        self._subject = subject
        self._durable = durable
        self._handler = handler
        self._batch = batch
        self._opnieuw_na = opnieuw_na
        self._batch_handler = batch_handler
        self._achterstand = CONSUMER_ACHTERSTAND.labels(stroom, durable)
        self.verwerkt = 0

    @property
    def consument(self) -> tuple[str, str, JetStreamContext]:
        """Stream, durable consumer and the JetStream context they live in (for ``zvhctl status``)."""
        return self._stroom, self._durable, self._js

    async def draai(self) -> None:
        while True:
            sub = None
            try:
                sub = await self._js.pull_subscribe(
                    self._subject,
                    durable=self._durable,
                    stream=self._stroom,
                    config=ConsumerConfig(ack_wait=30, max_ack_pending=1000),
                )
                wachtend = 0
                while True:
                    # nats-py's fetch(n) keeps waiting for all n messages until its timeout once the
                    # first has arrived, so never ask for more than the stream holds: one when it
                    # is quiet (returned the moment it arrives: the cross-region latency), else as
                    # many as the last message said were still pending (returned at once).
                    try:
                        berichten = await sub.fetch(max(1, min(self._batch, wachtend)), timeout=1)
                    except nats.errors.TimeoutError:
                        _stop_als_geannuleerd()
                        wachtend = 0
                        self._achterstand.set(0)
                        continue
                    wachtend = berichten[-1].metadata.num_pending if berichten else 0
                    self._achterstand.set(wachtend)
                    if self._batch_handler is not None:
                        await self._alle(berichten)
                    else:
                        for msg in berichten:
                            await self._een(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _stop_als_geannuleerd()
                log.warning(
                    "consumer restarting",
                    extra={"durable": self._durable, "stroom": self._stroom, "error": type(exc).__name__},
                )
                await asyncio.sleep(1)
            finally:
                # A fetch cut short leaves the server's late status reply in the subscription's
                # queue; unsubscribing keeps it from holding up the connection's drain (30 s).
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()

    async def _alle(self, berichten: list[Msg]) -> None:
        assert self._batch_handler is not None
        try:
            uitkomsten = await self._batch_handler(berichten)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._mislukt(exc)
            uitkomsten = [Uitkomst.OPNIEUW] * len(berichten)
        for msg, uitkomst in zip(berichten, uitkomsten, strict=True):
            await self._bevestig(msg, uitkomst)

    def _mislukt(self, exc: Exception) -> None:
        log.warning(
            "handler failed; message will be redelivered",
            extra={"durable": self._durable, "error": type(exc).__name__},
        )

    async def _een(self, msg: Msg) -> None:
        # One message, one span: the handler's logs carry the publisher's trace_id. (A
        # batch_handler gets no ambient trace: it sets each message's own where it handles it.)
        with in_trace(from_headers(msg.headers)):
            try:
                uitkomst = await self._handler(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._mislukt(exc)
                uitkomst = Uitkomst.OPNIEUW
            await self._bevestig(msg, uitkomst)

    async def _bevestig(self, msg: Msg, uitkomst: Uitkomst) -> None:
        if uitkomst is Uitkomst.KLAAR:
            await msg.ack()
        elif uitkomst is Uitkomst.OPNIEUW:
            await msg.nak(delay=self._opnieuw_na)
        else:
            await msg.term()
        self.verwerkt += 1
