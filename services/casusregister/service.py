"""CasusService: the gRPC face of the register. Validates, checks roles (via
``@rpc``), and delegates to ``Register``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.grpc import velden
from gedeeld.grpc.authenticatie import Authenticator, Rol
from gedeeld.grpc.rpc import Aanroep, BeveiligdeService, rpc
from gedeeld.zvh.v1 import casus_pb2, casus_pb2_grpc, gebeurtenis_pb2
from services.casusregister import levenscyclus, validatie
from services.casusregister.casussen import Register
from services.casusregister.inzage import Inzage
from services.casusregister.store import CasusRij

R = Rol
S = casus_pb2
G = gebeurtenis_pb2

# Who may call what. Procesregisseurs may change only casussen assigned to them
# (checked in Register.wijzigen). The FG reads the log and does inzage; it does
# not browse cases.
REGELS: Mapping[str, frozenset[Rol]] = {
    "Aanmelden": frozenset({R.INFORMATIECOORDINATOR, R.PROCESREGISSEUR, R.NETWERKMANAGER}),
    "Ophalen": frozenset({R.INFORMATIECOORDINATOR, R.PROCESREGISSEUR, R.NETWERKMANAGER}),
    "Zoeken": frozenset({R.INFORMATIECOORDINATOR, R.PROCESREGISSEUR, R.NETWERKMANAGER}),
    "Toewijzen": frozenset({R.INFORMATIECOORDINATOR, R.NETWERKMANAGER}),
    "StatusWijzigen": frozenset({R.PROCESREGISSEUR, R.NETWERKMANAGER}),
    "TopXMarkeren": frozenset({R.PROCESREGISSEUR, R.NETWERKMANAGER}),
    "Afsluiten": frozenset({R.PROCESREGISSEUR, R.NETWERKMANAGER}),
    "Inzage": frozenset({R.FG}),
}


class CasusService(BeveiligdeService, casus_pb2_grpc.CasusServiceServicer):
    SERVICE = "zvh.v1.CasusService"
    REGELS = REGELS

    def __init__(
        self,
        authenticator: Authenticator,
        register: Register,
        inzage: Inzage,
        rem: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(authenticator)
        self._register = register
        self._inzage = inzage
        # Raises RateLimitedError while the federation is too far behind (achterstand.py).
        self._rem = rem

    @rpc
    async def Aanmelden(self, request: S.AanmeldenRequest, aanroep: Aanroep) -> S.AanmeldenResponse:
        validatie.aanmelden(request, self._register.klok.nu().date())
        if self._rem is not None:
            await self._rem()
        casus, herhaald = await self._register.aanmelden(request, aanroep)
        return S.AanmeldenResponse(casus=casus, herhaald=herhaald)

    @rpc
    async def Ophalen(self, request: S.OphalenRequest, aanroep: Aanroep) -> S.Casus:
        return await self._register.ophalen(velden.casus_id(request.casus_id), aanroep)

    @rpc
    async def Zoeken(self, request: S.ZoekenRequest, aanroep: Aanroep) -> S.ZoekenResponse:
        grootte = validatie.paginagrootte(request.page_size)
        # A filter value too: a NUL would reach PostgreSQL (an error there, a miss in SQLite).
        validatie.gebruiker("procesregisseur", request.procesregisseur, verplicht=False)
        return await self._register.zoeken(request, aanroep, grootte)

    @rpc
    async def Toewijzen(self, request: S.ToewijzenRequest, aanroep: Aanroep) -> S.Casus:
        velden.casus_id(request.casus_id)
        validatie.gebruiker("procesregisseur", request.procesregisseur)

        def toewijzen(rij: CasusRij) -> None:
            if rij.status in levenscyclus.EINDSTATUSSEN:
                levenscyclus.controleer_overgang(rij.status, rij.status)
            rij.procesregisseur = request.procesregisseur.strip()

        return await self._register.wijzigen(
            request.casus_id,
            aanroep,
            "casus_toewijzen",
            G.GEBEURTENIS_SOORT_TOEGEWEZEN,
            toewijzen,
            request.verwachte_versie,
        )

    @rpc
    async def StatusWijzigen(self, request: S.StatusWijzigenRequest, aanroep: Aanroep) -> S.Casus:
        velden.casus_id(request.casus_id)
        nieuw = request.nieuwe_status
        validatie.toelichting(
            request.toelichting,
            verplicht=nieuw in levenscyclus.EINDSTATUSSEN,
            reden="bij afschalen of afsluiten",
        )

        def wijzig(rij: CasusRij) -> None:
            levenscyclus.controleer_overgang(rij.status, nieuw)
            self._naar(rij, nieuw, request.toelichting, S.AFSLUIT_REDEN_ANDERS)

        soort = (
            G.GEBEURTENIS_SOORT_AFGESLOTEN
            if nieuw in levenscyclus.EINDSTATUSSEN
            else G.GEBEURTENIS_SOORT_STATUS_GEWIJZIGD
        )
        return await self._register.wijzigen(
            request.casus_id, aanroep, "casus_status_wijzigen", soort, wijzig, request.verwachte_versie
        )

    @rpc
    async def TopXMarkeren(self, request: S.TopXMarkerenRequest, aanroep: Aanroep) -> S.Casus:
        velden.casus_id(request.casus_id)

        def markeer(rij: CasusRij) -> None:
            if rij.status in levenscyclus.EINDSTATUSSEN:
                levenscyclus.controleer_overgang(rij.status, rij.status)
            rij.topx = request.topx

        return await self._register.wijzigen(
            request.casus_id, aanroep, "casus_topx_markeren", G.GEBEURTENIS_SOORT_TOPX_GEWIJZIGD, markeer
        )

    @rpc
    async def Afsluiten(self, request: S.AfsluitenRequest, aanroep: Aanroep) -> S.Casus:
        velden.casus_id(request.casus_id)
        if request.reden == S.AFSLUIT_REDEN_ONBEKEND or request.reden not in S.AfsluitReden.values():
            raise ValidationError(FieldViolation("reden", "is verplicht (een AfsluitReden)"))
        validatie.toelichting(
            request.toelichting, verplicht=request.reden == S.AFSLUIT_REDEN_ANDERS, reden="bij reden ANDERS"
        )

        def sluit(rij: CasusRij) -> None:
            levenscyclus.controleer_overgang(rij.status, S.CASUS_STATUS_AFGESLOTEN)
            self._naar(rij, S.CASUS_STATUS_AFGESLOTEN, request.toelichting, request.reden)

        return await self._register.wijzigen(
            request.casus_id, aanroep, "casus_afsluiten", G.GEBEURTENIS_SOORT_AFGESLOTEN, sluit
        )

    @rpc
    async def Inzage(self, request: S.InzageRequest, aanroep: Aanroep) -> S.InzageResponse:
        return await self._inzage.uitvoeren(request, aanroep)

    def _naar(self, rij: CasusRij, status: int, toelichting: str, reden: int) -> None:
        rij.status = status
        rij.status_toelichting = toelichting.strip()
        if status in levenscyclus.EINDSTATUSSEN:
            rij.afgesloten_op = self._register.klok.nu()
            if status == S.CASUS_STATUS_AFGESLOTEN:
                rij.afsluit_reden = reden
