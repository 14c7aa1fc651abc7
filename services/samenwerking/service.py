"""MatchService: the procesregisseurs' match inbox and joint handling over gRPC."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Mapping

from sqlalchemy import select

from gedeeld.federatie.matchreferentie import gedeelde_referentie
from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.grpc import paginering, velden
from gedeeld.grpc.authenticatie import Authenticator, Rol
from gedeeld.grpc.rpc import Aanroep, BeveiligdeService, rpc, rpc_stroom
from gedeeld.tekst import controleer_tekst
from gedeeld.verwerkingslog import Handeling
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from gedeeld.zvh.v1 import samenwerking_pb2_grpc
from services.samenwerking import levenscyclus as L
from services.samenwerking.afhandeling import MAX_TEKST, MatchRegister
from services.samenwerking.store import SwBericht, SwCasus, SwKop, SwMatch, SwWijziging

R = Rol
LEZEN = frozenset({R.PROCESREGISSEUR, R.NETWERKMANAGER, R.INFORMATIECOORDINATOR})
HANDELEN = frozenset({R.PROCESREGISSEUR, R.NETWERKMANAGER})
# The FG has no access here: it reads the audit trail (zvhctl audit, Inzage).
REGELS: Mapping[str, frozenset[Rol]] = {
    "Lijst": LEZEN,
    "Ophalen": LEZEN,
    # The portal follows the feed for e-mail notifications (no person behind it).
    "Volgen": LEZEN | {R.PORTAAL},
    "Voorstellen": HANDELEN,
    "Akkoord": HANDELEN,
    "Afwijzen": HANDELEN,
    "Bericht": HANDELEN,
}

_TOKEN = re.compile(r"^v1\.(\d{1,18})$")
VOLG_BATCH = 200
# Every writer of the feed is in this process and wakes the streams after its commit; a re-read
# this often is only a safety net (a wake-up can never be missed: see Wekker).
VOLG_POLL = 60.0
# Contactgegevens (a name, a phone number, an address) travel to the other region in the overleg.
MAX_CONTACT = 200


def _match_id(waarde: str) -> str:
    return velden.uuid_id(waarde, "match_id", "match-id")


def _tekst(
    veld: str, waarde: str, maximum: int, *, verplicht: bool = True, meerdere_regels: bool = False
) -> str:
    """Free text from a user, without surrounding white space: gedeeld/tekst.py's one rule
    (too long, control or bidi characters: a field violation; never cut)."""
    waarde = waarde.strip()
    if verplicht and not waarde:
        raise ValidationError(FieldViolation(veld, "is verplicht"))
    return controleer_tekst(veld, waarde, maximum=maximum, meerdere_regels=meerdere_regels)


def naar_proto(
    m: SwMatch, procesregisseur: str = "", berichten: list[SwBericht] | None = None, regio: str = ""
) -> M.Match:
    uit = M.Match(
        match_id=m.match_id,
        casus_id=m.casus_id,
        betrokkene_id=m.betrokkene_id,
        andere_regio=m.andere_regio,
        zekerheid=m.zekerheid,  # type: ignore[arg-type]
        sleutel_types=[t for t in m.sleutel_types.split(",") if t],
        status=M.MatchStatus.Value(f"MATCH_STATUS_{m.status}"),
        regievoerende_regio=m.regie,
        voorgesteld_door=m.voorgesteld_door,
        afwijsreden=m.reden,
        contact_regio=m.contact_regio,
        contact_procesregisseur=m.contact_procesregisseur,
        procesregisseur=procesregisseur,
        gedeelde_referentie=gedeelde_referentie(
            regio, m.eigen_referentie, m.andere_regio, m.andere_referentie
        ),
    )
    uit.aangemaakt_op.FromDatetime(m.aangemaakt_op)
    uit.gewijzigd_op.FromDatetime(m.gewijzigd_op)
    for b in berichten or []:
        mb = uit.berichten.add(regio=b.regio, tekst=b.tekst)
        mb.tijdstip.FromDatetime(b.tijdstip)
    return uit


class MatchService(BeveiligdeService, samenwerking_pb2_grpc.MatchServiceServicer):
    SERVICE = "zvh.v1.MatchService"
    REGELS = REGELS

    def __init__(self, authenticator: Authenticator, register: MatchRegister) -> None:
        super().__init__(authenticator)
        self._r = register

    @rpc
    async def Lijst(self, request: M.LijstRequest, aanroep: Aanroep) -> M.LijstResponse:
        grootte = request.page_size or 50
        if grootte > 200:
            raise ValidationError(FieldViolation("page_size", "ten hoogste 200"))
        fid = paginering.filter_id(request, "page_size", "page_token")
        stmt = (
            select(SwMatch, SwCasus.procesregisseur)
            .outerjoin(SwCasus, SwCasus.casus_id == SwMatch.casus_id)
            .order_by(SwMatch.aangemaakt_op.desc(), SwMatch.match_id.desc())
        )
        if request.status:
            stmt = stmt.where(SwMatch.status.in_([M.MatchStatus.Name(s)[13:] for s in request.status]))
        if request.zekerheid:
            stmt = stmt.where(SwMatch.zekerheid == request.zekerheid)
        if request.andere_regio:
            _tekst("andere_regio", request.andere_regio, 32)
            stmt = stmt.where(SwMatch.andere_regio == request.andere_regio)
        if request.alleen_eigen:
            stmt = stmt.where(SwCasus.procesregisseur == aanroep.identiteit.gebruiker)
        if request.page_token:
            na_tijd, na_id = paginering.lees_token(request.page_token, fid)
            stmt = stmt.where(
                (SwMatch.aangemaakt_op < na_tijd)
                | ((SwMatch.aangemaakt_op == na_tijd) & (SwMatch.match_id < na_id))
            )
        async with self._r.db.transaction() as s:
            # Read before the page: a change committed in between is streamed again, never lost.
            kop = (await s.execute(select(SwKop.laatste).where(SwKop.id == 1))).scalar_one_or_none()
            rijen = (await s.execute(stmt.limit(grootte + 1))).all()
            pagina = rijen[:grootte]
            resp = M.LijstResponse(
                matches=[naar_proto(m, pr or "", regio=self._r.regio) for m, pr in pagina],
                resume_token=f"v1.{kop or 0}",
            )
            if len(rijen) > grootte:
                laatste = pagina[-1][0]
                resp.next_page_token = paginering.maak_token(laatste.aangemaakt_op, laatste.match_id, fid)
            await self._r.log.vastleggen(
                s,
                trace=aanroep.trace,
                actor=aanroep.actor,
                betrokkene_ids=sorted({m.betrokkene_id for m, _ in pagina}),
                handeling=Handeling("matches_lijst", self._r.activiteit.samenwerking, "match", ""),
                details={"resultaten": len(pagina)},
            )
        return resp

    @rpc
    async def Ophalen(self, request: M.MatchOphalenRequest, aanroep: Aanroep) -> M.Match:
        m = await self._r.bekijk(_match_id(request.match_id), aanroep)
        return await self._volledig(m)

    async def _volledig(self, m: SwMatch) -> M.Match:
        async with self._r.db.lezen() as s:
            return naar_proto(
                m,
                await self._r.procesregisseur(s, m.casus_id),
                await self._r.berichten(s, m.match_id),
                regio=self._r.regio,
            )

    @rpc
    async def Voorstellen(self, request: M.VoorstellenRequest, aanroep: Aanroep) -> M.Match:
        _match_id(request.match_id)
        regie = _tekst("regievoerende_regio", request.regievoerende_regio, 32)
        contact = _tekst("contactgegevens", request.contactgegevens, MAX_CONTACT, verplicht=False)
        regio = self._r.regio

        async def andere(m_id: str) -> str:
            async with self._r.db.lezen() as s:
                return (await self._r.laad(s, m_id)).andere_regio

        ander = await andere(request.match_id)
        m = await self._r.stap(
            request.match_id,
            aanroep,
            "samenwerking_voorstellen",
            lambda t: L.stel_voor(t, regio, ander, regie),
            F.OverlegInhoud(soort=F.OVERLEG_SOORT_VOORSTEL, regievoerende_regio=regie),
            contact=contact or self._standaard_contact(aanroep),
        )
        return await self._volledig(m)

    @rpc
    async def Akkoord(self, request: M.AkkoordRequest, aanroep: Aanroep) -> M.Match:
        _match_id(request.match_id)
        contact = _tekst("contactgegevens", request.contactgegevens, MAX_CONTACT, verplicht=False)
        m = await self._r.stap(
            request.match_id,
            aanroep,
            "samenwerking_akkoord",
            lambda t: L.geef_akkoord(t, self._r.regio),
            F.OverlegInhoud(soort=F.OVERLEG_SOORT_AKKOORD),
            contact=contact or self._standaard_contact(aanroep),
        )
        return await self._volledig(m)

    @rpc
    async def Afwijzen(self, request: M.AfwijzenRequest, aanroep: Aanroep) -> M.Match:
        _match_id(request.match_id)
        reden = _tekst("reden", request.reden, 500, meerdere_regels=True)
        m = await self._r.stap(
            request.match_id,
            aanroep,
            "samenwerking_afwijzen",
            lambda t: L.wijs_af(t, reden),
            F.OverlegInhoud(soort=F.OVERLEG_SOORT_AFWIJZING, tekst=reden),
        )
        return await self._volledig(m)

    @rpc
    async def Bericht(self, request: M.BerichtRequest, aanroep: Aanroep) -> M.Match:
        _match_id(request.match_id)
        tekst = _tekst("tekst", request.tekst, MAX_TEKST, meerdere_regels=True)

        def controleer(t: L.Toestand) -> L.Toestand:
            L.mag_bericht(t)
            return t

        m = await self._r.stap(
            request.match_id,
            aanroep,
            "samenwerking_bericht",
            controleer,
            F.OverlegInhoud(soort=F.OVERLEG_SOORT_BERICHT, tekst=tekst),
            bericht=tekst,
        )
        return await self._volledig(m)

    def _standaard_contact(self, aanroep: Aanroep) -> str:
        regio_contact = self._r.federatie.regio(self._r.regio).contact
        return f"{aanroep.identiteit.gebruiker} via {regio_contact}"

    @rpc_stroom
    async def Volgen(self, request: M.VolgenRequest, aanroep: Aanroep) -> AsyncIterator[M.MatchWijziging]:
        na = 0
        if request.resume_token:
            gevonden = _TOKEN.match(request.resume_token)
            if gevonden is None:
                raise ValidationError(
                    FieldViolation("resume_token", "ongeldig; gebruik een token uit een eerdere wijziging")
                )
            na = int(gevonden.group(1))
        gebruiker = aanroep.identiteit.gebruiker
        while True:
            event = self._r.wekker.event  # before reading: a commit after this read wakes us
            stmt = (
                select(SwWijziging, SwMatch, SwCasus.procesregisseur)
                .join(SwMatch, SwMatch.match_id == SwWijziging.match_id)
                .outerjoin(SwCasus, SwCasus.casus_id == SwMatch.casus_id)
                .where(SwWijziging.volgnummer > na)
                .order_by(SwWijziging.volgnummer)
                .limit(VOLG_BATCH)
            )
            async with self._r.db.transaction() as s:
                rijen = (await s.execute(stmt)).all()
                zichtbaar = [
                    (w, m, pr or "") for w, m, pr in rijen if not request.alleen_eigen or pr == gebruiker
                ]
                if zichtbaar:
                    await self._r.log.vastleggen(
                        s,
                        trace=aanroep.trace,
                        actor=aanroep.actor,
                        betrokkene_ids=sorted({m.betrokkene_id for _, m, _ in zichtbaar}),
                        handeling=Handeling("matches_volgen", self._r.activiteit.samenwerking, "match", ""),
                        details={"wijzigingen": len(zichtbaar)},
                    )
            for w, m, pr in zichtbaar:
                yield M.MatchWijziging(
                    resume_token=f"v1.{w.volgnummer}",
                    nieuw=w.nieuw,
                    match=naar_proto(m, pr, regio=self._r.regio),
                )
            if rijen:
                na = rijen[-1][0].volgnummer
                if len(rijen) == VOLG_BATCH:
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), VOLG_POLL)
