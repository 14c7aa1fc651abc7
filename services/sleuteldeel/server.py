"""Wiring of the sleuteldeel service: a NATS subscription on zvh.oprf.<regio>."""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.sleuteldeel.service import Sleuteldeelhouder

log = logging.getLogger("zvh.sleuteldeel")


class SleuteldeelServer:
    """Serves requests concurrently (bounded), so one slow audit write does not stall others."""

    def __init__(self, nc: Client, houder: Sleuteldeelhouder, *, gelijktijdig: int = 8) -> None:
        self._nc = nc
        self._houder = houder
        self._ruimte = asyncio.Semaphore(gelijktijdig)
        self._taken: set[asyncio.Task[None]] = set()
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(
            f"zvh.oprf.{self._houder.regio}", queue="sleuteldeel", cb=self._ontvang
        )
        await self._nc.flush()

    async def _ontvang(self, msg: Msg) -> None:
        await self._ruimte.acquire()
        taak = asyncio.create_task(self._beantwoord(msg))
        self._taken.add(taak)
        taak.add_done_callback(self._taken.discard)

    async def _beantwoord(self, msg: Msg) -> None:
        try:
            antwoord = await self._houder.behandel(msg.data)
            if msg.reply:
                await msg.respond(antwoord)
        except Exception as exc:
            log.warning("oprf answer not sent", extra={"error": type(exc).__name__})
        finally:
            self._ruimte.release()

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
        if self._taken:
            await asyncio.wait(self._taken, timeout=5)
