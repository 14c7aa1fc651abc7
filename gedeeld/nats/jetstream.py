"""Durable pull consumers that survive a nats-server restart.

``StroomLezer`` fetches in batches, hands each message to a handler and acts on
its ``Uitkomst``: KLAAR acks, OPNIEUW naks with a delay (redelivered later),
WEIGER terminates (never redelivered; the handler has counted and logged it).
A handler that raises is treated as OPNIEUW, so a bug or outage loses nothing.
Any error other than "no messages" re-creates the subscription after a pause:
nats.py pull subscriptions can go stale after a server restart (nats.py #504).

Transient failures are retried with a delay that doubles with every delivery
(``opnieuw_na``, 2 s, 4 s, … up to ``MAX_OPNIEUW_NA``), so the consumer's
``max_deliver`` (gedeeld/nats/onderwerpen.py: ``MAX_AFLEVERINGEN``) spans hours of an
outage. A message that still fails at its last delivery is given up: a copy
(headers and data) goes to the region's dead letters (``DodeBrieven``: on the
region's own NATS, never on the hub), it is counted
(``zvh_federation_dead_letters_total``), logged with its subject and sending
region only, and terminated. It can no longer stall the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import BadRequestError

from gedeeld.beheer.metrics import CONSUMER_ACHTERSTAND, DODE_BRIEVEN
from gedeeld.beheer.tracing import from_headers, in_trace
from gedeeld.nats import onderwerpen

log = logging.getLogger("zvh.jetstream")
T = TypeVar("T")

MAX_OPNIEUW_NA = 300.0  # seconds: the longest pause between two deliveries of a failing message
# Headers of a dead letter (besides the original message's own headers).
DOOD_SUBJECT = "Zvh-Dood-Subject"
DOOD_STROOM = "Zvh-Dood-Stroom"
DOOD_DURABLE = "Zvh-Dood-Durable"
DOOD_VOLGNUMMER = "Zvh-Dood-Volgnummer"
DOOD_AFLEVERINGEN = "Zvh-Dood-Afleveringen"
# Headers a copy must not carry over: JetStream would apply them to the dead-letter stream.
_NIET_KOPIEREN = ("Nats-Msg-Id", "Nats-Expected-Stream", "Nats-Expected-Last-Msg-Id")


class Uitkomst(enum.Enum):
    KLAAR = "klaar"
    OPNIEUW = "opnieuw"
    WEIGER = "weiger"


Handler = Callable[[Msg], Awaitable[Uitkomst]]
BatchHandler = Callable[[list[Msg]], Awaitable[list[Uitkomst]]]


async def samen_of_los(
    geldig: Sequence[tuple[int, T]],
    uitkomsten: list[Uitkomst],
    samen: Callable[[list[T]], Awaitable[object]],
    los: Callable[[T], Awaitable[object]],
    durable: str,
) -> None:
    """A batch handler's second half: apply the batch's valid items (``(index in the batch, item)``)
    in one go, one transaction; should that fail, one at a time, so an item that cannot be applied
    holds up only its own message (set to OPNIEUW in ``uitkomsten``, redelivered later) and the
    others are done."""
    if not geldig:
        return

    def opnieuw(index: int, exc: Exception) -> None:
        log.warning(
            "handler failed; message will be redelivered",
            extra={"durable": durable, "error": type(exc).__name__},
        )
        uitkomsten[index] = Uitkomst.OPNIEUW

    try:
        await samen([item for _, item in geldig])
        return
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if len(geldig) == 1:
            opnieuw(geldig[0][0], exc)
            return
        log.warning(
            "batch failed; handling its messages one at a time",
            extra={"durable": durable, "aantal": len(geldig), "error": type(exc).__name__},
        )
    for index, item in geldig:
        try:
            await los(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            opnieuw(index, exc)


async def zorg_voor_stroom(js: JetStreamContext, config: StreamConfig) -> None:
    """Create or update a stream (in a hub deployment the beheer user has done this already)."""
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


@dataclass(frozen=True)
class DodeBrieven:
    """The region's own JetStream (REGIO_<R>) that keeps a copy of every message given up on."""

    js: JetStreamContext
    regio: str


def wachttijd(aflevering: int, basis: float, maximum: float = MAX_OPNIEUW_NA) -> float:
    """Pause before the next delivery after delivery number ``aflevering`` (1 = first) failed."""
    return float(min(maximum, basis * 2 ** max(0, min(aflevering - 1, 30))))


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
        handler: Handler | None = None,
        batch: int = 32,
        opnieuw_na: float = 2.0,
        batch_handler: BatchHandler | None = None,
        config: ConsumerConfig | None = None,
        alleen_binden: bool = False,
        soort: str = "",
        dood: DodeBrieven | None = None,
    ) -> None:
        """Give ``handler`` (one message at a time) or ``batch_handler``: it gets every fetched batch
        at once (in stream order) and returns one outcome per message.

        ``config``: the durable consumer's configuration when this reader creates it (a
        federation consumer's comes from ``onderwerpen.Consumentspec.config()``); its
        ``max_deliver`` is the delivery at which a failing message is given up (also when the
        consumer was created earlier with another config). ``alleen_binden``: never create or
        alter the consumer, only bind to it (on the hub, the hub's operators made it).
        ``soort``: the message kind, for metrics and to name the sending region in logs.
        ``dood``: where to keep a copy of messages given up on (None: only counted and logged)."""
        if (handler is None) == (batch_handler is None):
            raise TypeError("StroomLezer takes a handler or a batch_handler (one of the two)")
        self._js = js
        self._stroom = stroom
        self._subject = subject
        self._durable = durable
        self._handler = handler
        self._batch = batch
        self._opnieuw_na = opnieuw_na
        self._batch_handler = batch_handler
        self._config = config or ConsumerConfig(ack_wait=30, max_ack_pending=1000)
        self._max_afleveringen = max(0, self._config.max_deliver or 0)  # -1: unlimited
        self._alleen_binden = alleen_binden
        self._soort = soort
        self._dood = dood
        self._achterstand = CONSUMER_ACHTERSTAND.labels(stroom, durable)
        self.verwerkt = 0
        self.opgegeven = 0

    @property
    def consument(self) -> tuple[str, str, JetStreamContext]:
        """Stream, durable consumer and the JetStream context they live in (for ``zvhctl status``)."""
        return self._stroom, self._durable, self._js

    async def draai(self) -> None:
        while True:
            sub = None
            try:
                if self._alleen_binden:
                    sub = await self._js.pull_subscribe_bind(durable=self._durable, stream=self._stroom)
                else:
                    sub = await self._js.pull_subscribe(
                        self._subject,
                        durable=self._durable,
                        stream=self._stroom,
                        # a copy: nats-py fills in name and filter on the config it is given
                        config=dataclasses.replace(self._config),
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
                        await self._alle(self._batch_handler, berichten)
                    elif self._handler is not None:
                        for msg in berichten:
                            await self._een(self._handler, msg)
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

    async def _alle(self, batch_handler: BatchHandler, berichten: list[Msg]) -> None:
        try:
            uitkomsten = await batch_handler(berichten)
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

    async def _een(self, handler: Handler, msg: Msg) -> None:
        # One message, one span: the handler's logs carry the publisher's trace_id. (A
        # batch_handler gets no ambient trace: it sets each message's own where it handles it.)
        with in_trace(from_headers(msg.headers)):
            try:
                uitkomst = await handler(msg)
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
            aflevering = _aflevering(msg)
            if self._max_afleveringen and aflevering >= self._max_afleveringen:
                await self._geef_op(msg, aflevering)
            else:
                await msg.nak(delay=wachttijd(aflevering, self._opnieuw_na))
        else:
            await msg.term()
        self.verwerkt += 1

    def _afzender(self, subject: str) -> str:
        if self._soort in ("signaal", "treffer", "overleg"):
            return onderwerpen.afzender(self._soort, subject) or "?"  # type: ignore[arg-type]
        return "-"

    async def _geef_op(self, msg: Msg, aflevering: int) -> None:
        """The last delivery failed too: keep a copy for operators, count, log, terminate."""
        if self._dood is not None:
            kop = {k: v for k, v in (msg.headers or {}).items() if k not in _NIET_KOPIEREN}
            volgnummer = str(msg.metadata.sequence.stream)
            kop |= {
                DOOD_SUBJECT: msg.subject,
                DOOD_STROOM: self._stroom,
                DOOD_DURABLE: self._durable,
                DOOD_VOLGNUMMER: volgnummer,
                DOOD_AFLEVERINGEN: str(aflevering),
                "Nats-Msg-Id": f"dood:{self._stroom}:{self._durable}:{volgnummer}",
            }
            try:
                await self._dood.js.publish(
                    onderwerpen.dode_brief(self._dood.regio, self._stroom), msg.data, headers=kop, timeout=5
                )
            except Exception as exc:
                # Not kept: try again at a later delivery (JetStream still holds the message; past
                # max_deliver the hub's advisory records it) rather than lose it here.
                log.warning(
                    "dead letter not stored; message stays pending",
                    extra={"stroom": self._stroom, "durable": self._durable, "error": type(exc).__name__},
                )
                await msg.nak(delay=MAX_OPNIEUW_NA)
                return
        await msg.term()
        self.opgegeven += 1
        DODE_BRIEVEN.labels(self._stroom, self._soort or "-").inc()
        log.error(
            "message given up after its last delivery; kept as a dead letter",
            extra={
                "stroom": self._stroom,
                "durable": self._durable,
                "subject": msg.subject,
                "afzender": self._afzender(msg.subject),
                "afleveringen": aflevering,
            },
        )


def _aflevering(msg: Msg) -> int:
    """Which delivery of ``msg`` this is (1 = the first)."""
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # not a JetStream message (a test's hand-made Msg): a first delivery
        return 1
