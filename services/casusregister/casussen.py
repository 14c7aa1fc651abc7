"""The case register's operations. Each change writes the new state, one outbox
event and the processing log in a single transaction: all of it or none of it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.beheer.tracing import TraceContext
from gedeeld.db import Database
from gedeeld.fouten import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from gedeeld.grpc import paginering
from gedeeld.grpc.authenticatie import Rol
from gedeeld.grpc.rpc import Aanroep
from gedeeld.grpc.status import VersionMismatchError
from gedeeld.identiteit.bsn import normaliseer_bsn
from gedeeld.klok import Klok
from gedeeld.nats import onderwerpen
from gedeeld.nats.outbox import Outbox
from gedeeld.verwerkingslog import Handeling, Verwerkingslog
from gedeeld.zvh.v1 import casus_pb2, gebeurtenis_pb2
from services.casusregister import omzetting
from services.casusregister.levenscyclus import ACTIEF
from services.casusregister.store import AanvraagRij, BetrokkeneRij, CasusRij, OutboxRij

G = gebeurtenis_pb2


@dataclass(frozen=True)
class Activiteiten:
    """Ids in the region's register of processing activities (verwerkingsregister)."""

    registratie: str
    raadpleging: str
    inzage: str
    bewaartermijn: str

    @classmethod
    def standaard(cls, regio: str) -> Activiteiten:
        return cls(
            *(
                f"urn:zvh:{regio}:verwerkingsactiviteit:{n}"
                for n in ("casusregistratie", "casusraadpleging", "inzage", "bewaartermijn")
            )
        )


class Register:
    def __init__(
        self,
        db: Database,
        regio: str,
        log: Verwerkingslog,
        klok: Klok,
        activiteiten: Activiteiten,
        outbox: Outbox[OutboxRij] | None = None,
    ) -> None:
        self.db = db
        self.regio = regio
        self.log = log
        self.klok = klok
        self.activiteiten = activiteiten
        # Its relay wakes after each commit that wrote to it. None: write only (a zvhctl job);
        # the node's relay publishes.
        self._outbox = outbox or Outbox(OutboxRij, db, None, regio, "casusregister", klok)

    # -- writing ---------------------------------------------------------------

    async def outbox(self, session: AsyncSession, rij: CasusRij, soort: int, traceparent: str) -> None:
        """Queue the event for ``rij`` in the caller's transaction."""
        naam = G.GebeurtenisSoort.Name(soort).removeprefix("GEBEURTENIS_SOORT_").lower()  # type: ignore[arg-type]
        nu = self.klok.nu()
        event = await self._outbox.schrijf(
            session,
            onderwerpen.gebeurtenis(self.regio, "casus", naam),
            b"",  # set below: the payload carries the row's own volgnummer
            str(uuid.uuid4()),
            traceparent,
            flush=True,
            casus_id=rij.casus_id,
        )
        event.payload = G.CasusGebeurtenis(
            gebeurtenis_id=event.gebeurtenis_id,
            volgnummer=event.volgnummer,
            soort=soort,  # type: ignore[arg-type]
            casus=omzetting.casus(rij),
            tijdstip=omzetting.ts(nu),
        ).SerializeToString()

    async def herpseudonimiseer(self) -> int:
        """Queue every active casus again (``HERPSEUDONIMISEREN``; nothing changes), so that
        signalering pseudonymises it under a new key epoch. Repeating it is harmless: signalering
        skips persons that already have tokens of every epoch it serves."""
        async with self.db.transaction() as s:
            rijen = list((await s.execute(select(CasusRij).where(CasusRij.status.in_(ACTIEF)))).scalars())
            for rij in rijen:
                await self.outbox(
                    s, rij, G.GEBEURTENIS_SOORT_HERPSEUDONIMISEREN, TraceContext.new().traceparent
                )
        return len(rijen)

    async def aanmelden(
        self, req: casus_pb2.AanmeldenRequest, aanroep: Aanroep
    ) -> tuple[casus_pb2.Casus, bool]:
        vingerafdruk = hashlib.sha256(req.SerializeToString(deterministic=True)).hexdigest()
        try:
            return await self._aanmelden(req, aanroep, vingerafdruk)
        except IntegrityError:
            # A concurrent call with the same request_id won the race; answer as a repeat.
            return await self._aanmelden(req, aanroep, vingerafdruk)

    async def _aanmelden(
        self, req: casus_pb2.AanmeldenRequest, aanroep: Aanroep, vingerafdruk: str
    ) -> tuple[casus_pb2.Casus, bool]:
        nu = self.klok.nu()
        async with self.db.transaction() as s:
            eerder = await s.get(AanvraagRij, req.request_id)
            if eerder is not None:
                if eerder.vingerafdruk != vingerafdruk:
                    raise ConflictError(
                        "request_id is al gebruikt voor een andere aanmelding; kies een nieuw request_id"
                    )
                rij = await self._laad(s, eerder.casus_id)
                await self._log(s, aanroep, "casus_aanmelden_herhaald", rij, self.activiteiten.raadpleging)
                return omzetting.casus(rij), True
            rij = CasusRij(
                casus_id=str(uuid.uuid4()),
                regio=self.regio,
                status=casus_pb2.CASUS_STATUS_AANGEMELD,
                thema=req.thema,
                orientatie=req.orientatie,
                aanmelder_type=req.aanmelder.type,
                aanmelder_organisatie=req.aanmelder.organisatie.strip(),
                criteria=omzetting.criteria_json(req.wgs_criteria),
                procesregisseur="",
                topx=False,
                aangemeld_op=nu,
                gewijzigd_op=nu,
                afsluit_reden=0,
                status_toelichting="",
                versie=1,
                betrokkenen=[
                    BetrokkeneRij(
                        betrokkene_id=str(uuid.uuid4()),
                        volgorde=i,
                        bsn=normaliseer_bsn(b.bsn) if b.bsn else None,
                        voornamen=b.voornamen.strip(),
                        voorvoegsels=b.voorvoegsels.strip(),
                        achternaam=b.achternaam.strip(),
                        geboortedatum=datetime(
                            b.geboortedatum.jaar, b.geboortedatum.maand, b.geboortedatum.dag
                        ).date(),
                        geslacht=b.geslacht,
                    )
                    for i, b in enumerate(req.betrokkenen)
                ],
            )
            s.add(rij)
            await s.flush()  # the casus row first: aanvraag references it
            s.add(AanvraagRij(request_id=req.request_id, casus_id=rij.casus_id, vingerafdruk=vingerafdruk))
            await s.flush()
            await self.outbox(s, rij, G.GEBEURTENIS_SOORT_AANGEMELD, aanroep.trace.traceparent)
            await self._log(s, aanroep, "casus_aanmelden", rij, self.activiteiten.registratie)
            resultaat = omzetting.casus(rij)
        return resultaat, False

    async def wijzigen(
        self,
        casus_id: str,
        aanroep: Aanroep,
        handeling: str,
        soort: int,
        wijziging: Callable[[CasusRij], None],
        verwachte_versie: int = 0,
    ) -> casus_pb2.Casus:
        """Load, check ownership and version, apply ``wijziging``, log, queue the event."""
        async with self.db.transaction() as s:
            rij = await self._laad(s, casus_id, voor_wijziging=True)
            ident = aanroep.identiteit
            if ident.rol is Rol.PROCESREGISSEUR and rij.procesregisseur != ident.gebruiker:
                raise PermissionDeniedError(
                    "alleen de toegewezen procesregisseur (of de netwerkmanager) mag deze casus wijzigen"
                )
            if verwachte_versie and rij.versie != verwachte_versie:
                raise VersionMismatchError(
                    f"de casus is intussen gewijzigd (versie {rij.versie}, verwacht {verwachte_versie}); "
                    "haal hem opnieuw op"
                )
            wijziging(rij)
            rij.versie += 1
            rij.gewijzigd_op = self.klok.nu()
            await s.flush()
            await self.outbox(s, rij, soort, aanroep.trace.traceparent)
            await self._log(s, aanroep, handeling, rij, self.activiteiten.registratie)
            resultaat = omzetting.casus(rij)
        return resultaat

    # -- reading ---------------------------------------------------------------

    async def ophalen(self, casus_id: str, aanroep: Aanroep) -> casus_pb2.Casus:
        async with self.db.transaction() as s:  # a write: the read itself is logged
            rij = await self._laad(s, casus_id)
            await self._log(s, aanroep, "casus_ophalen", rij, self.activiteiten.raadpleging)
            return omzetting.casus(rij)

    async def zoeken(
        self, req: casus_pb2.ZoekenRequest, aanroep: Aanroep, paginagrootte: int
    ) -> casus_pb2.ZoekenResponse:
        fid = paginering.filter_id(req, "page_size", "page_token")
        aantal = (
            select(func.count(BetrokkeneRij.betrokkene_id))
            .where(BetrokkeneRij.casus_id == CasusRij.casus_id)
            .scalar_subquery()
        )
        stmt = select(CasusRij, aantal).order_by(CasusRij.aangemeld_op, CasusRij.casus_id)
        if req.status:
            stmt = stmt.where(CasusRij.status.in_(list(req.status)))
        if req.thema:
            stmt = stmt.where(CasusRij.thema == req.thema)
        if req.procesregisseur:
            stmt = stmt.where(CasusRij.procesregisseur == req.procesregisseur)
        if req.HasField("topx"):
            stmt = stmt.where(CasusRij.topx == req.topx)
        if req.page_token:
            na_tijd, na_id = paginering.lees_token(req.page_token, fid)
            stmt = stmt.where(
                (CasusRij.aangemeld_op > na_tijd)
                | ((CasusRij.aangemeld_op == na_tijd) & (CasusRij.casus_id > na_id))
            )
        stmt = stmt.limit(paginagrootte + 1)
        async with self.db.transaction() as s:
            rows = (await s.execute(stmt)).all()
            pagina = rows[:paginagrootte]
            samenvattingen = [omzetting.samenvatting(r[0], int(r[1])) for r in pagina]
            resp = casus_pb2.ZoekenResponse(casussen=samenvattingen)
            if len(rows) > paginagrootte:
                laatste = pagina[-1][0]
                resp.next_page_token = paginering.maak_token(laatste.aangemeld_op, laatste.casus_id, fid)
            # Summaries hold no personal data: an audit record, no LDV lines.
            await self.log.vastleggen(
                s,
                trace=aanroep.trace,
                handeling=Handeling("casus_zoeken", self.activiteiten.raadpleging, "casus", ""),
                actor=aanroep.actor,
                details={"resultaten": len(pagina)},
            )
        return resp

    # -- helpers ---------------------------------------------------------------

    async def _laad(self, s: AsyncSession, casus_id: str, *, voor_wijziging: bool = False) -> CasusRij:
        stmt = select(CasusRij).where(CasusRij.casus_id == casus_id)
        if voor_wijziging:
            stmt = stmt.with_for_update()
        rij = (await s.execute(stmt)).scalar_one_or_none()
        if rij is None:
            raise NotFoundError("casus niet gevonden in deze regio")
        return rij

    async def _log(
        self, s: AsyncSession, aanroep: Aanroep, naam: str, rij: CasusRij, activiteit: str
    ) -> None:
        await self.log.vastleggen(
            s,
            trace=aanroep.trace,
            handeling=Handeling(naam, activiteit, "casus", rij.casus_id),
            actor=aanroep.actor,
            betrokkene_ids=[b.betrokkene_id for b in rij.betrokkenen],
        )
