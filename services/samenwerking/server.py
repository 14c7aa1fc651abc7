"""Wiring of samenwerking: the overleg stream, the region's events, the outbox relay.

Samenwerking learns of matches only from signalering's region-local events on ``REGIO_<R>``
(``MatchGevonden``, ``MatchGesloten``, ``SignaalReferentie``), read by durable consumers of its
own into its own tables; it reads no other service's tables and imports no other service."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.aio.msg import Msg

from gedeeld.beheer.metrics import OVERLEG
from gedeeld.beheer.tracing import from_headers
from gedeeld.federatie.bericht import ontsleutel_als
from gedeeld.federatie.koppeling import Koppeling
from gedeeld.federatie.poort import BESCHERMING, controleer, weiger
from gedeeld.fouten import BerichtFout
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import Uitkomst, samen_of_los
from gedeeld.nats.outbox import Outbox
from gedeeld.taken import stop_taken
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2
from services.samenwerking.afhandeling import MAX_CONTACT, MAX_REDEN, MAX_TEKST, MatchRegister, overleg_info
from services.samenwerking.store import SwOutbox

log = logging.getLogger("zvh.samenwerking")

# An overleg message whose match is not known here yet (its treffer is still on the way) is
# redelivered with a growing delay from this one; after the consumer's last delivery
# (onderwerpen.MAX_AFLEVERINGEN) it is kept as a dead letter.
OPNIEUW_NA = 2.0
MAX_BERICHT_ID = 40
MAX_REFERENTIE = 32


class Samenwerking:
    def __init__(self, ctx: Koppeling, nc: Client) -> None:
        self.ctx = ctx
        self.nc = nc
        # Overleg messages (federation subjects) and the region's own events: one outbox, one
        # connection; order is kept per subject, so one region's missing stream holds up only
        # the messages to that region.
        self.outbox: Outbox[SwOutbox] = Outbox(
            SwOutbox,
            ctx.db,
            ctx.lokaal,
            ctx.regio,
            "samenwerking",
            ctx.klok,
            partitie=lambda subject: subject,
            gepubliceerd=lambda rij: _geteld(rij.subject),
        )
        self.register = MatchRegister(
            ctx.regio, ctx.db, ctx.federatie, ctx.sleutels, ctx.log, ctx.klok, self.outbox
        )
        self.lezers = [
            ctx.federatielezer("overleg", self._bij_overleg),
            # Case events and references come one per registration: a fetched batch of them is
            # kept in one transaction. Match events wake Volgen and stay one at a time.
            ctx.regiolezer("casus", "samenwerking", batch_handler=self._bij_gebeurtenissen),
            ctx.regiolezer("match", "samenwerking-match", self._bij_match),
            ctx.regiolezer("signaal", "samenwerking-signaal", batch_handler=self._bij_referenties),
        ]
        self._regiolezers = self.lezers[2:]
        self._taken: list[asyncio.Task[None]] = []

    async def _bij_gebeurtenissen(self, berichten: list[Msg]) -> list[Uitkomst]:
        uitkomsten: list[Uitkomst] = []
        casussen: list[tuple[int, tuple[str, str]]] = []
        for i, msg in enumerate(berichten):
            try:
                g = gebeurtenis_pb2.CasusGebeurtenis.FromString(msg.data)
            except DecodeError:
                uitkomsten.append(Uitkomst.WEIGER)
                continue
            casussen.append((i, (g.casus.casus_id, g.casus.procesregisseur)))
            uitkomsten.append(Uitkomst.KLAAR)
        r = self.register
        await samen_of_los(casussen, uitkomsten, r.casussen, lambda c: r.casussen([c]), "samenwerking")
        return uitkomsten

    async def _bij_match(self, msg: Msg) -> Uitkomst:
        """MatchGevonden / MatchGesloten; applying one twice changes nothing."""
        soort = msg.subject.rsplit(".", 1)[-1]
        try:
            if soort == "gevonden":
                g = gebeurtenis_pb2.MatchGevonden.FromString(msg.data)
                if not g.match_id or not g.eigen_referentie:
                    return Uitkomst.WEIGER
                if await self.register.gevonden(g):
                    log.info(
                        "match received",
                        extra={"regio": self.ctx.regio, "match_id": g.match_id, "casus_id": g.casus_id},
                    )
                return Uitkomst.KLAAR
            if soort == "gesloten":
                onbekend = await self.register.gesloten(gebeurtenis_pb2.MatchGesloten.FromString(msg.data))
                if onbekend:
                    # Its MatchGevonden was not applied yet (it failed and waits for redelivery).
                    log.warning("closing of unknown matches; retried", extra={"matches": len(onbekend)})
                    return Uitkomst.OPNIEUW
                return Uitkomst.KLAAR
        except DecodeError:
            return Uitkomst.WEIGER
        return Uitkomst.KLAAR  # a kind this version does not know: not for samenwerking

    async def _bij_referenties(self, berichten: list[Msg]) -> list[Uitkomst]:
        uitkomsten: list[Uitkomst] = []
        referenties: list[tuple[int, gebeurtenis_pb2.SignaalReferentie]] = []
        for i, msg in enumerate(berichten):
            if not msg.subject.endswith(".referentie"):
                uitkomsten.append(Uitkomst.KLAAR)  # another kind of signal event: not for samenwerking
                continue
            try:
                g = gebeurtenis_pb2.SignaalReferentie.FromString(msg.data)
            except DecodeError:
                uitkomsten.append(Uitkomst.WEIGER)
                continue
            if not g.referentie:
                uitkomsten.append(Uitkomst.WEIGER)
                continue
            referenties.append((i, g))
            uitkomsten.append(Uitkomst.KLAAR)
        r = self.register
        await samen_of_los(
            referenties, uitkomsten, r.referenties, lambda g: r.referenties([g]), "samenwerking-signaal"
        )
        return uitkomsten

    async def _bij_overleg(self, msg: Msg) -> Uitkomst:
        ctx = self.ctx
        try:
            # Subject and rate first (microseconds), then the signature, then the content.
            afzender = ctx.poort.afzender("overleg", msg.subject)
        except BerichtFout as fout:
            herkomst = ctx.poort.herkomst("overleg", msg.subject)
            return weiger("overleg", fout.reden, afzender=herkomst, subject=msg.subject)
        try:
            inhoud = self._lees(msg, afzender)
            bekend = await self._eigen_referentie(inhoud.referentie_ontvanger)
            if bekend is None:
                return Uitkomst.OPNIEUW  # the region's events are not all read yet: ask again
            if not bekend:
                raise BerichtFout("onbekende_referentie")
        except BerichtFout as fout:
            return weiger("overleg", fout.reden, afzender=afzender, subject=msg.subject)
        if await self.register.ontvang(inhoud, from_headers(msg.headers)):
            OVERLEG.labels("ontvangen").inc()
            return Uitkomst.KLAAR
        return Uitkomst.OPNIEUW  # its match may still be on its way (the treffer)

    def _lees(self, msg: Msg, afzender: str) -> F.OverlegInhoud:
        """The verified, decrypted step, every text field checked before the database sees it."""
        ctx = self.ctx
        geopend = ctx.poort.open_als("overleg", msg.data, afzender, F.Overleg)
        if geopend.inhoud.ontvanger != ctx.regio:
            raise BerichtFout("onleesbaar")
        inhoud = ontsleutel_als(
            ctx.sleutels.hpke, geopend.inhoud.envelop, overleg_info(ctx.regio), F.OverlegInhoud
        )
        if inhoud.regio != geopend.afzender:
            raise BerichtFout("verkeerde_herkomst")
        if inhoud.soort == F.OVERLEG_SOORT_ONBEKEND or not inhoud.bericht_id:
            raise BerichtFout("onleesbaar")
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

    async def _eigen_referentie(self, referentie: str) -> bool | None:
        """Whether ``referentie`` is a person this region ever signalled (withdrawn included: the
        other side may still close joint handling on it). Anything else cannot have a match.
        None: not known here, but signalering's events are not all read yet, so it may still come."""
        if not BESCHERMING.treffer_referentie:
            return True
        if await self.register.bekende_referentie(referentie):
            return True
        for lezer in self._regiolezers:
            stroom, durable, js = lezer.consument
            try:
                info = await js.consumer_info(stroom, durable)
            except Exception:
                return None
            if info.num_pending or info.num_ack_pending:
                return None
        # Read up: still unknown after every event so far (a reference signalled a moment ago
        # whose event is still in signalering's outbox is refused too: the other region's
        # procesregisseur acts on a match, seconds at least after the signal).
        return await self.register.bekende_referentie(referentie) or False

    @property
    def draait(self) -> bool:
        """Started, and none of its background tasks has ended."""
        return bool(self._taken) and not any(t.done() for t in self._taken)

    async def start(self) -> None:
        await self.ctx.zorg_voor_federatiestroom(
            self.ctx.stroomconfig(onderwerpen.inbox("overleg", self.ctx.regio))
        )
        self._taken = [asyncio.create_task(lezer.draai()) for lezer in self.lezers]
        self._taken.append(asyncio.create_task(self.outbox.draai(), name="samenwerking-outbox"))

    async def stop(self) -> None:
        await stop_taken(self._taken)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.outbox.publiceer_batch(), 2)


def _geteld(subject: str) -> None:
    if subject.startswith("zvh.overleg."):
        OVERLEG.labels("verzonden").inc()
