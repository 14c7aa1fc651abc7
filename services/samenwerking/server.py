"""Wiring of samenwerking: the overleg stream, the region's case events, the outbox publisher."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from gedeeld.errors import DecryptionError
from gedeeld.federatie.bericht import BerichtFout, open_bericht
from gedeeld.jetstream import StroomLezer, Uitkomst
from gedeeld.metrics import OVERLEG
from gedeeld.natsconfig import stroom
from gedeeld.tracing import from_headers
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2
from services.casusregister.events import stroomnaam
from services.samenwerking.register import MatchRegister, overleg_info
from services.signalering.context import MAX_BERICHT, Context, zorg_voor_federatiestroom
from services.signalering.inkomend import weiger

log = logging.getLogger("zvh.samenwerking")

# An overleg message whose match is not known here yet (its treffer is still on the way)
# is redelivered after this delay, at most this many times.
OPNIEUW_NA = 2.0
MAX_POGINGEN = 30
PUBLICEER_INTERVAL = 5.0


class Samenwerking:
    def __init__(self, ctx: Context, nc: Client) -> None:
        self.ctx = ctx
        self.nc = nc
        self._te_publiceren = asyncio.Event()
        self.register = MatchRegister(
            ctx.regio,
            ctx.db,
            ctx.federatie,
            ctx.sleutels,
            ctx.log,
            ctx.klok,
            wekker_uitgaand=self._te_publiceren.set,
        )
        r = ctx.regio
        self.lezers = [
            StroomLezer(
                ctx.js,
                stroom=stroom("overleg", r),
                subject=f"zvh.overleg.{r}",
                durable=r,
                handler=self._bij_overleg,
                opnieuw_na=OPNIEUW_NA,
            ),
            StroomLezer(
                ctx.lokaal,
                stroom=stroomnaam(r),
                subject=f"regio.{r}.casus.>",
                durable="samenwerking",
                handler=self._bij_gebeurtenis,
            ),
        ]
        self._taken: list[asyncio.Task[None]] = []

    async def _bij_gebeurtenis(self, msg: Msg) -> Uitkomst:
        try:
            g = gebeurtenis_pb2.CasusGebeurtenis.FromString(msg.data)
        except DecodeError:
            return Uitkomst.WEIGER
        await self.register.casus(g.casus.casus_id, g.casus.procesregisseur)
        return Uitkomst.KLAAR

    def _weiger(self, reden: str) -> Uitkomst:
        return weiger(reden, "overleg")

    async def _bij_overleg(self, msg: Msg) -> Uitkomst:
        ctx = self.ctx
        try:
            geopend = open_bericht(msg.data, ctx.federatie, "overleg", MAX_BERICHT)
            overleg = F.Overleg.FromString(geopend.inhoud)
            if overleg.ontvanger != ctx.regio:
                return self._weiger("onleesbaar")
            inhoud = F.OverlegInhoud.FromString(
                ctx.sleutels.hpke.open(overleg.envelop, overleg_info(ctx.regio))
            )
        except BerichtFout as exc:
            return self._weiger(exc.reden)
        except (DecodeError, DecryptionError):
            return self._weiger("onleesbaar")
        if (
            inhoud.regio != geopend.afzender
            or not inhoud.bericht_id
            or len(inhoud.bericht_id) > 40
            or inhoud.soort == F.OVERLEG_SOORT_ONBEKEND
        ):
            return self._weiger("onleesbaar")
        if await self.register.ontvang(inhoud, from_headers(msg.headers)):
            OVERLEG.labels("ontvangen").inc()
            return Uitkomst.KLAAR
        if msg.metadata.num_delivered >= MAX_POGINGEN:
            return self._weiger("onbekende_match")
        return Uitkomst.OPNIEUW

    async def publiceer_open(self) -> int:
        """Publish every overleg message not yet acknowledged; a failure is retried later."""
        verstuurd = 0
        for b in await self.register.open_berichten():
            try:
                await self.ctx.js.publish(
                    f"zvh.overleg.{b.ontvanger}", b.data, headers={"Nats-Msg-Id": b.bericht_id}, timeout=5
                )
            except Exception as exc:  # the other region's stream may not exist yet; keep it queued
                log.warning(
                    "overleg message not yet published",
                    extra={"ontvanger": b.ontvanger, "error": type(exc).__name__},
                )
                continue
            await self.register.gepubliceerd(b.bericht_id)
            OVERLEG.labels("verzonden").inc()
            verstuurd += 1
        return verstuurd

    async def _publiceer_lus(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._te_publiceren.wait(), PUBLICEER_INTERVAL)
            self._te_publiceren.clear()
            try:
                await self.publiceer_open()
            except Exception as exc:
                log.warning("overleg publishing failed", extra={"error": type(exc).__name__})

    @property
    def draait(self) -> bool:
        """Started, and none of its background tasks has ended."""
        return bool(self._taken) and not any(t.done() for t in self._taken)

    async def start(self) -> None:
        await zorg_voor_federatiestroom(
            self.ctx,
            StreamConfig(
                name=stroom("overleg", self.ctx.regio),
                subjects=[f"zvh.overleg.{self.ctx.regio}"],
                max_age=self.ctx.stroom_max_age.total_seconds(),
                duplicate_window=3600,
                max_msg_size=MAX_BERICHT,
            ),
        )
        self._taken = [asyncio.create_task(lezer.draai()) for lezer in self.lezers]
        self._taken.append(asyncio.create_task(self._publiceer_lus()))

    async def stop(self) -> None:
        for t in self._taken:
            t.cancel()
        for t in self._taken:
            with contextlib.suppress(asyncio.CancelledError):
                await t
