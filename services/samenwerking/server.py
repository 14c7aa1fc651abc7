"""Wiring of samenwerking: the overleg stream, the region's case events, the outbox publisher."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.aio.msg import Msg

from gedeeld import onderwerpen
from gedeeld.errors import DecryptionError
from gedeeld.federatie.koppeling import Koppeling
from gedeeld.federatie.poort import BESCHERMING, Geweigerd, controleer, label, weiger
from gedeeld.jetstream import StroomLezer, Uitkomst
from gedeeld.metrics import OVERLEG
from gedeeld.tracing import from_headers
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2
from services.samenwerking.register import MAX_CONTACT, MAX_REDEN, MAX_TEKST, MatchRegister, overleg_info
from services.signalering.store import EigenSignaalRij

log = logging.getLogger("zvh.samenwerking")

# An overleg message whose match is not known here yet (its treffer is still on the way) is
# redelivered with a growing delay from this one; after the consumer's last delivery
# (onderwerpen.MAX_AFLEVERINGEN) it is kept as a dead letter.
OPNIEUW_NA = 2.0
PUBLICEER_INTERVAL = 5.0
MAX_BERICHT_ID = 40
MAX_REFERENTIE = 32


class Samenwerking:
    def __init__(self, ctx: Koppeling, nc: Client) -> None:
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
            ctx.federatielezer("overleg", self._bij_overleg),
            StroomLezer(
                ctx.lokaal,
                stroom=onderwerpen.regiostroom(r),
                subject=onderwerpen.gebeurtenissen(r, "casus"),
                durable="samenwerking",
                handler=self._bij_gebeurtenis,
                dood=ctx.dood,
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

    async def _bij_overleg(self, msg: Msg) -> Uitkomst:
        ctx = self.ctx
        try:
            # Subject and rate first (microseconds), then the signature, then the content.
            afzender = ctx.poort.afzender("overleg", msg.subject)
        except Geweigerd as fout:
            code = onderwerpen.afzender("overleg", msg.subject)
            return weiger("overleg", fout.reden, afzender=label(ctx.federatie, code), subject=msg.subject)
        try:
            inhoud = self._lees(msg, afzender)
            if not await self._eigen_referentie(inhoud.referentie_ontvanger):
                raise Geweigerd("onbekende_referentie")
        except Geweigerd as fout:
            return weiger("overleg", fout.reden, afzender=afzender, subject=msg.subject)
        if await self.register.ontvang(inhoud, from_headers(msg.headers)):
            OVERLEG.labels("ontvangen").inc()
            return Uitkomst.KLAAR
        return Uitkomst.OPNIEUW  # its match may still be on its way (the treffer)

    def _lees(self, msg: Msg, afzender: str) -> F.OverlegInhoud:
        """The verified, decrypted step, every text field checked before the database sees it."""
        ctx = self.ctx
        geopend = ctx.poort.open("overleg", msg.data, afzender)
        try:
            overleg = F.Overleg.FromString(geopend.inhoud)
            if overleg.ontvanger != ctx.regio:
                raise Geweigerd("onleesbaar")
            inhoud = F.OverlegInhoud.FromString(
                ctx.sleutels.hpke.open(overleg.envelop, overleg_info(ctx.regio))
            )
        except (DecodeError, DecryptionError):
            raise Geweigerd("onleesbaar") from None
        if inhoud.regio != geopend.afzender:
            raise Geweigerd("verkeerde_herkomst")
        if inhoud.soort == F.OVERLEG_SOORT_ONBEKEND or not inhoud.bericht_id:
            raise Geweigerd("onleesbaar")
        controleer(inhoud.bericht_id, MAX_BERICHT_ID, leeg=False)
        controleer(inhoud.referentie_afzender, MAX_REFERENTIE, leeg=False)
        controleer(inhoud.referentie_ontvanger, MAX_REFERENTIE, leeg=False)
        controleer(inhoud.regievoerende_regio, MAX_REFERENTIE)
        controleer(
            inhoud.tekst,
            MAX_TEKST if inhoud.soort == F.OVERLEG_SOORT_BERICHT else MAX_REDEN,
            meerdere_regels=True,
        )
        controleer(inhoud.contact, MAX_CONTACT)
        return inhoud

    async def _eigen_referentie(self, referentie: str) -> bool:
        """Whether ``referentie`` is a person this region ever signalled (withdrawn included: the
        other side may still close joint handling on it). Anything else cannot have a match."""
        if not BESCHERMING.treffer_referentie:
            return True
        async with self.ctx.db.lezen() as s:
            return await s.get(EigenSignaalRij, referentie) is not None

    async def publiceer_open(self) -> int:
        """Publish every overleg message not yet acknowledged; a failure is retried later."""
        verstuurd = 0
        for b in await self.register.open_berichten():
            try:
                await self.ctx.js.publish(
                    onderwerpen.overleg(b.ontvanger, self.ctx.regio),
                    b.data,
                    headers={"Nats-Msg-Id": b.bericht_id},
                    timeout=5,
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
        await self.ctx.zorg_voor_federatiestroom(
            self.ctx.stroomconfig(onderwerpen.inbox("overleg", self.ctx.regio))
        )
        self._taken = [asyncio.create_task(lezer.draai()) for lezer in self.lezers]
        self._taken.append(asyncio.create_task(self._publiceer_lus()))

    async def stop(self) -> None:
        for t in self._taken:
            t.cancel()
        for t in self._taken:
            with contextlib.suppress(asyncio.CancelledError):
                await t
