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

log = logging.getLogger("zvh.jetstream")


class Uitkomst(enum.Enum):
    KLAAR = "klaar"
    OPNIEUW = "opnieuw"
    WEIGER = "weiger"


Handler = Callable[[Msg], Awaitable[Uitkomst]]


async def zorg_voor_stroom(js: JetStreamContext, config: StreamConfig) -> None:
    """Create or update a stream (in a hub deployment the beheer user has done this already)."""
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


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
    ) -> None:
        self._js = js
        self._stroom = stroom
        self._subject = subject
        self._durable = durable
        self._handler = handler
        self._batch = batch
        self._opnieuw_na = opnieuw_na
        self.verwerkt = 0

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
                while True:
                    try:
                        berichten = await sub.fetch(self._batch, timeout=1)
                    except nats.errors.TimeoutError:
                        continue
                    for msg in berichten:
                        await self._een(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
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

    async def _een(self, msg: Msg) -> None:
        try:
            uitkomst = await self._handler(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "handler failed; message will be redelivered",
                extra={"durable": self._durable, "error": type(exc).__name__},
            )
            uitkomst = Uitkomst.OPNIEUW
        if uitkomst is Uitkomst.KLAAR:
            await msg.ack()
        elif uitkomst is Uitkomst.OPNIEUW:
            await msg.nak(delay=self._opnieuw_na)
        else:
            await msg.term()
        self.verwerkt += 1
