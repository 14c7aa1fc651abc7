"""Wiring of the trend radar in the node: the TRENDS stream and a durable consumer of it, and the
three durable consumers of the region's own events that keep its counting facts (gebeurtenissen.py).

Releasing is not a background task: an operator decides when a month is released
(``zvhctl trends publiceren --periode 2026-11``), because each release spends privacy budget.
"""

from __future__ import annotations

import asyncio
import logging

from nats.js.api import StreamConfig

from gedeeld.federatie.koppeling import HubNietBereikbaar, Koppeling
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import StroomLezer
from gedeeld.taken import stop_taken
from services.trendradar.gebeurtenissen import Feitenbron
from services.trendradar.ontvangen import Ontvanger

log = logging.getLogger("zvh.trendradar")


def trends_stroom() -> StreamConfig:
    """TRENDS keeps every release (no age limit: releases are small and never change); the same
    specification the hub's operators create it from (``gedeeld.nats.onderwerpen``)."""
    return onderwerpen.trends().config(bytes_begrensd=False)  # embedded: see Stroomspec.config


class Trendradar:
    def __init__(self, ctx: Koppeling) -> None:
        self.ctx = ctx
        self.ontvanger = Ontvanger(ctx.db, ctx.federatie, ctx.klok)
        self.feitenbron = Feitenbron(ctx.db, ctx.regio)
        # On the region's own stream: they run whether or not the hub has TRENDS.
        self.feitenlezers = self.feitenbron.lezers(ctx.lokaal, ctx.dood)
        spec = onderwerpen.consument(onderwerpen.TRENDS, ctx.regio)
        self.trendlezers = [
            StroomLezer(
                ctx.js,
                stroom=spec.stroom,
                subject=spec.filter,
                durable=spec.durable,
                handler=self.ontvanger.bij_bericht,
            )
        ]
        self.lezers = [*self.trendlezers, *self.feitenlezers]
        self._taken: list[asyncio.Task[None]] = []
        # True once TRENDS exists and its consumer runs (on a hub that may be later, or never).
        self.actief = False

    @property
    def draait(self) -> bool:
        return bool(self._taken) and not any(t.done() for t in self._taken)

    async def start(self) -> None:
        self._taken = [asyncio.create_task(lezer.draai()) for lezer in self.feitenlezers]
        if not self.ctx.hub_domein:
            try:
                await self.ctx.zorg_voor_federatiestroom(trends_stroom())  # ours to create
            except BaseException:
                await self.stop()
                raise
            self._taken += [asyncio.create_task(lezer.draai()) for lezer in self.trendlezers]
            self.actief = True
            return
        # On a hub the stream is the hub operators' to create. Trends are not worth a node that
        # does not start (or starts slower): look for it in the background, then consume.
        self._taken.append(asyncio.create_task(self._op_de_hub()))

    async def _op_de_hub(self) -> None:
        gemeld = False
        while True:
            try:
                await self.ctx.zorg_voor_federatiestroom(trends_stroom())
                break
            except HubNietBereikbaar as exc:
                if not gemeld:
                    log.warning("trend radar waiting for its stream", extra={"error": exc.message})
                    gemeld = True
            await asyncio.sleep(60)
        self.actief = True
        await asyncio.gather(*(lezer.draai() for lezer in self.trendlezers))

    async def stop(self) -> None:
        await stop_taken(self._taken)
