"""The joint handling of matches: state, change feed, steps of both regions.

Every change of a match appends one row to the feed (``sw_wijziging``) in the same
transaction; its number comes from the head row ``sw_kop`` whose row lock
serialises writers, so numbers are handed out in commit order and ``Volgen``
can resume after any number without missing or repeating a change.

Matches come from signalering's region-local events only (``MatchGevonden``,
``MatchGesloten``, read by samenwerking's own consumer): each is applied in a
transaction of samenwerking's own, idempotently (a redelivered event finds its
match already there, or already closed, and changes nothing).

A step of this region is written together with its overleg message in the
outbox (``sw_outbox``, gedeeld/nats/outbox.py); the message is published after commit
and retried until JetStream acknowledges it (``Nats-Msg-Id`` = message id, so a
retry is dropped as a duplicate). Agreement on joint handling also writes a
``SamenwerkingGestart`` event for the region (the trend radar). A step of the
other region is applied once (its id goes into ``sw_ontvangen`` in the same
transaction).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.beheer.tracing import TraceContext, huidig
from gedeeld.crypto.envelop import verzegel
from gedeeld.db import Database, na_commit
from gedeeld.federatie.bericht import onderteken
from gedeeld.federatie.register import Federatie
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.fouten import NotFoundError, PermissionDeniedError
from gedeeld.grpc.authenticatie import Rol
from gedeeld.grpc.rpc import Aanroep
from gedeeld.klok import Klok
from gedeeld.nats import onderwerpen
from gedeeld.nats.outbox import Outbox
from gedeeld.verwerkingslog import Actor, Handeling, Verwerkingslog
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from services.samenwerking import levenscyclus as L
from services.samenwerking.store import (
    SwBericht,
    SwCasus,
    SwKop,
    SwMatch,
    SwOntvangen,
    SwOutbox,
    SwReferentie,
    SwWijziging,
)

log = logging.getLogger("zvh.samenwerking")

OVERLEG_INFO = b"zvh-overleg-v1"
MAX_TEKST = 2000  # a coordination message (BERICHT)
MAX_REDEN = 500  # a reason (AFWIJZING); the column sw_match.reden
MAX_CONTACT = 200


def overleg_info(ontvanger: str) -> bytes:
    return OVERLEG_INFO + b"\x00" + ontvanger.encode()


def toestand(m: SwMatch) -> L.Toestand:
    return L.Toestand(L.Status(m.status), m.regie, m.voorgesteld_door, m.reden)


@dataclass(frozen=True)
class Activiteit:
    samenwerking: str

    @classmethod
    def standaard(cls, regio: str) -> Activiteit:
        return cls(f"urn:zvh:{regio}:verwerkingsactiviteit:samenwerking")


class Wekker:
    """Wakes ``Volgen`` streams after a commit that added to the feed.

    A waiter takes the current event *before* it reads the feed, so a commit in
    between cannot be missed.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    @property
    def event(self) -> asyncio.Event:
        return self._event

    def wek(self) -> None:
        oud, self._event = self._event, asyncio.Event()
        oud.set()


class MatchRegister:
    def __init__(
        self,
        regio: str,
        db: Database,
        federatie: Federatie,
        sleutels: RegioSleutels,
        log_: Verwerkingslog,
        klok: Klok,
        outbox: Outbox[SwOutbox],
        activiteit: Activiteit | None = None,
    ) -> None:
        self.regio = regio
        self.db = db
        self.federatie = federatie
        self.sleutels = sleutels
        self.log = log_
        self.klok = klok
        self.activiteit = activiteit or Activiteit.standaard(regio)
        self.wekker = Wekker()
        self.outbox = outbox

    # -- the feed ----------------------------------------------------------------

    async def _wijziging(self, s: AsyncSession, match_id: str, nieuw: bool = False) -> None:
        nummer = (
            await s.execute(
                update(SwKop).where(SwKop.id == 1).values(laatste=SwKop.laatste + 1).returning(SwKop.laatste)
            )
        ).scalar_one()
        s.add(SwWijziging(volgnummer=nummer, match_id=match_id, nieuw=nieuw, tijdstip=self.klok.nu()))
        # Wake Volgen streams once this transaction commits (every writer of the feed is in this
        # process: samenwerking's own steps and its own consumers of the region's events).
        na_commit(s, "zvh_wek", self.wekker.wek)

    # -- the region's events (signalering's MatchGevonden, MatchGesloten, SignaalReferentie) --

    async def _ken_referentie(self, s: AsyncSession, referentie: str, casus_id: str) -> None:
        if await s.get(SwReferentie, referentie) is not None:
            return
        try:
            async with s.begin_nested():
                s.add(SwReferentie(referentie=referentie, casus_id=casus_id))
        except IntegrityError:
            pass  # the other consumer (match / reference events) recorded it a moment ago

    async def referenties(self, referenties: list[G.SignaalReferentie]) -> None:
        """The region's own signal references (SignaalReferentie events), in one transaction."""
        async with self.db.transaction() as s:
            for g in referenties:
                await self._ken_referentie(s, g.referentie, g.casus_id)

    async def bekende_referentie(self, referentie: str) -> bool:
        async with self.db.lezen() as s:
            return await s.get(SwReferentie, referentie) is not None

    async def gevonden(self, g: G.MatchGevonden) -> bool:
        """A new match; False when it was known already (a redelivered event: nothing changes)."""
        nu = self.klok.nu()
        async with self.db.transaction() as s:
            if await s.get(SwMatch, g.match_id) is not None:
                return False
            await self._ken_referentie(s, g.eigen_referentie, g.casus_id)
            try:
                async with s.begin_nested():
                    s.add(
                        SwMatch(
                            match_id=g.match_id,
                            casus_id=g.casus_id,
                            betrokkene_id=g.betrokkene_id,
                            eigen_referentie=g.eigen_referentie,
                            andere_regio=g.andere_regio,
                            andere_referentie=g.andere_referentie,
                            zekerheid=g.zekerheid,
                            sleutel_types=g.sleutel_types,
                            status=L.Status.NIEUW.value,
                            regie="",
                            voorgesteld_door="",
                            reden="",
                            contact_regio=self.federatie.regio(g.andere_regio).contact,
                            contact_procesregisseur="",
                            eigen_contact="",
                            contact_verstuurd=False,
                            aangemaakt_op=g.tijdstip.ToDatetime(tzinfo=UTC) if g.HasField("tijdstip") else nu,
                            gewijzigd_op=nu,
                        )
                    )
            except IntegrityError:
                # The same pair under another id cannot come from one signalering (its own unique
                # constraint); keep the first and say so.
                log.warning("match event for a known pair ignored", extra={"match_id": g.match_id})
                return False
            await self._wijziging(s, g.match_id, nieuw=True)
        return True

    async def gesloten(self, g: G.MatchGesloten) -> set[str]:
        """Close the matches; returns the ids not known here (yet)."""
        async with self.db.transaction() as s:
            gevonden: set[str] = set()
            for m in (
                await s.execute(select(SwMatch).where(SwMatch.match_id.in_(list(g.match_ids))))
            ).scalars():
                gevonden.add(m.match_id)
                if m.status != L.Status.GESLOTEN:
                    self._zet(m, L.sluit(toestand(m)))
                    await self._wijziging(s, m.match_id)
        return set(g.match_ids) - gevonden

    # -- reading -----------------------------------------------------------------

    async def laad(self, s: AsyncSession, match_id: str) -> SwMatch:
        m = await s.get(SwMatch, match_id)
        if m is None:
            raise NotFoundError(f"match {match_id} bestaat niet in deze regio")
        return m

    async def procesregisseur(self, s: AsyncSession, casus_id: str) -> str:
        rij = await s.get(SwCasus, casus_id)
        return rij.procesregisseur if rij else ""

    async def berichten(self, s: AsyncSession, match_id: str) -> list[SwBericht]:
        return list(
            (
                await s.execute(
                    select(SwBericht).where(SwBericht.match_id == match_id).order_by(SwBericht.id)
                )
            ).scalars()
        )

    # -- this region's steps ------------------------------------------------------

    async def mag_handelen(self, s: AsyncSession, m: SwMatch, aanroep: Aanroep) -> None:
        """Procesregisseurs act on matches of casussen assigned to them; the netwerkmanager on all."""
        i = aanroep.identiteit
        if i.rol == Rol.PROCESREGISSEUR and await self.procesregisseur(s, m.casus_id) != i.gebruiker:
            raise PermissionDeniedError("alleen de procesregisseur van deze casus kan dit doen")

    async def stap(
        self,
        match_id: str,
        aanroep: Aanroep,
        naam: str,
        overgang: Callable[[L.Toestand], L.Toestand],
        overleg: F.OverlegInhoud | None,
        *,
        contact: str = "",
        bericht: str = "",
    ) -> SwMatch:
        """Apply one of this region's steps: state, feed, overleg message, log — one transaction."""
        async with self.db.transaction() as s:
            m = await self.laad(s, match_id)
            await self.mag_handelen(s, m, aanroep)
            oud = toestand(m)
            nieuw = overgang(oud)
            if contact:
                m.eigen_contact = contact[:200]
            if bericht:
                s.add(
                    SwBericht(match_id=m.match_id, regio=self.regio, tekst=bericht, tijdstip=self.klok.nu())
                )
            self._zet(m, nieuw)
            if overleg is not None:
                await self._verstuur(s, m, overleg)
            await self._na_overgang(s, m, oud, nieuw)
            await self._wijziging(s, m.match_id)
            await self._log(s, m, naam, aanroep.trace, aanroep.actor)
        return m

    async def bekijk(self, match_id: str, aanroep: Aanroep) -> SwMatch:
        """Ophalen: logged for everyone; the casus's own procesregisseur moves NIEUW to BEKEKEN."""
        async with self.db.transaction() as s:
            m = await self.laad(s, match_id)
            i = aanroep.identiteit
            eigen = i.rol == Rol.PROCESREGISSEUR and await self.procesregisseur(s, m.casus_id) == i.gebruiker
            if eigen and m.status == L.Status.NIEUW:
                self._zet(m, L.bekijk(toestand(m)))
                await self._wijziging(s, m.match_id)
            await self._log(s, m, "match_bekijken", aanroep.trace, aanroep.actor)
        return m

    def _zet(self, m: SwMatch, t: L.Toestand) -> None:
        m.status, m.regie, m.voorgesteld_door, m.reden = t.status.value, t.regie, t.voorgesteld_door, t.reden
        m.gewijzigd_op = self.klok.nu()
        if t.status == L.Status.SAMENWERKING and m.samenwerking_op is None:
            m.samenwerking_op = m.gewijzigd_op

    async def _na_overgang(self, s: AsyncSession, m: SwMatch, oud: L.Toestand, nieuw: L.Toestand) -> None:
        if nieuw.status == L.Status.SAMENWERKING and oud.status != L.Status.SAMENWERKING:
            await self._meld_gestart(s, m)
        # Contact details go to the other side only once both agreed, and once.
        if nieuw.status == L.Status.SAMENWERKING and not m.contact_verstuurd:
            m.contact_verstuurd = True
            contact = m.eigen_contact or f"procesregisseur van {self.regio}"
            await self._verstuur(s, m, F.OverlegInhoud(soort=F.OVERLEG_SOORT_CONTACT, contact=contact))

    async def _meld_gestart(self, s: AsyncSession, m: SwMatch) -> None:
        """Tell the region (the trend radar) that joint handling was agreed, with the step."""
        g = G.SamenwerkingGestart(match_id=m.match_id, casus_id=m.casus_id)
        g.gevonden_op.FromDatetime(m.aangemaakt_op)
        g.gestart_op.FromDatetime(m.samenwerking_op or self.klok.nu())
        await self.outbox.gebeurtenis(s, onderwerpen.gebeurtenis(self.regio, "samenwerking", "gestart"), g)

    async def _verstuur(self, s: AsyncSession, m: SwMatch, inhoud: F.OverlegInhoud) -> None:
        bericht_id = str(uuid.uuid4())
        inhoud.bericht_id = bericht_id
        inhoud.regio = self.regio
        inhoud.referentie_afzender = m.eigen_referentie
        inhoud.referentie_ontvanger = m.andere_referentie
        inhoud.tijdstip.FromDatetime(self.klok.nu())
        envelop = verzegel(
            self.federatie.regio(m.andere_regio).hpke_sleutel,
            inhoud.SerializeToString(),
            overleg_info(m.andere_regio),
        )
        data = onderteken(
            self.sleutels.ondertekening,
            self.regio,
            "overleg",
            F.Overleg(ontvanger=m.andere_regio, envelop=envelop).SerializeToString(),
        )
        trace = huidig()
        await self.outbox.schrijf(
            s,
            onderwerpen.overleg(m.andere_regio, self.regio),
            data,
            bericht_id,
            trace.traceparent if trace is not None else "",
        )

    async def _log(self, s: AsyncSession, m: SwMatch, naam: str, trace: TraceContext, actor: Actor) -> None:
        await self.log.vastleggen(
            s,
            trace=trace,
            actor=actor,
            betrokkene_ids=[m.betrokkene_id],
            handeling=Handeling(naam, self.activiteit.samenwerking, "match", m.match_id),
            details={"regio": m.andere_regio, "status": m.status},
        )

    # -- the other region's steps -------------------------------------------------

    async def ontvang(self, inhoud: F.OverlegInhoud, trace: TraceContext) -> bool:
        """Apply one overleg message; False when its match is not (yet) known here."""
        afzender = inhoud.regio
        async with self.db.transaction() as s:
            m = (
                await s.execute(
                    select(SwMatch).where(
                        SwMatch.eigen_referentie == inhoud.referentie_ontvanger,
                        SwMatch.andere_regio == afzender,
                        SwMatch.andere_referentie == inhoud.referentie_afzender,
                    )
                )
            ).scalar_one_or_none()
            if m is None:
                return False
            try:
                async with s.begin_nested():
                    sleutel = f"{afzender}/{inhoud.bericht_id}"[:64]
                    s.add(SwOntvangen(bericht_id=sleutel, ontvangen_op=self.klok.nu()))
            except IntegrityError:
                return True  # applied before: a redelivery
            oud = toestand(m)
            nieuw = self._toepassen(s, m, oud, inhoud)
            self._zet(m, nieuw)
            await self._na_overgang(s, m, oud, nieuw)
            await self._wijziging(s, m.match_id)
            soort = F.OverlegSoort.Name(inhoud.soort).removeprefix("OVERLEG_SOORT_").lower()
            await self._log(
                s,
                m,
                f"overleg_{soort}",
                trace,
                Actor(f"regio:{afzender}", "regio", "samenwerking tussen regio's"),
            )
        return True

    def _toepassen(self, s: AsyncSession, m: SwMatch, t: L.Toestand, inhoud: F.OverlegInhoud) -> L.Toestand:
        # Text fields were checked on arrival (samenwerking/server.py): refused, never cut here.
        ander = inhoud.regio
        soort = inhoud.soort
        if soort == F.OVERLEG_SOORT_VOORSTEL:
            return L.ontvang_voorstel(t, self.regio, ander, inhoud.regievoerende_regio)
        if soort == F.OVERLEG_SOORT_AKKOORD:
            return L.ontvang_akkoord(t, self.regio)
        if soort == F.OVERLEG_SOORT_AFWIJZING:
            return L.ontvang_afwijzing(t, inhoud.tekst)
        if soort == F.OVERLEG_SOORT_BERICHT:
            s.add(SwBericht(match_id=m.match_id, regio=ander, tekst=inhoud.tekst, tijdstip=self.klok.nu()))
        elif soort == F.OVERLEG_SOORT_CONTACT:
            m.contact_procesregisseur = inhoud.contact
        return t

    # -- the region's casussen -------------------------------------------------------

    async def casussen(self, casussen: list[tuple[str, str]]) -> None:
        """Each casus' procesregisseur, from the region's case events (casus id, procesregisseur),
        in stream order and in one transaction: the last event of a casus wins."""
        async with self.db.transaction() as s:
            for casus_id, procesregisseur in casussen:
                rij = await s.get(SwCasus, casus_id)
                if rij is None:
                    s.add(SwCasus(casus_id=casus_id, procesregisseur=procesregisseur))
                else:
                    rij.procesregisseur = procesregisseur
