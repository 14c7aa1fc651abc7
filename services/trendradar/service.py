"""TrendService: the national and per-region picture over gRPC (``zvh trends``, later the portal)."""

from __future__ import annotations

from collections.abc import Mapping

from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.grpc.authenticatie import Authenticator, Rol
from gedeeld.grpc.rpc import Aanroep, BeveiligdeService, rpc
from gedeeld.zvh.v1 import trend_pb2 as T
from gedeeld.zvh.v1 import trend_pb2_grpc
from services.trendradar.ontvangen import Ontvanger
from services.trendradar.overzicht import standaard_bereik, stel_samen
from services.trendradar.tellen import Periode

# Protected aggregates only: every role of the region may look.
REGELS: Mapping[str, frozenset[Rol]] = {"Overzicht": frozenset(Rol)}
MAX_MAANDEN = 36


class TrendService(BeveiligdeService, trend_pb2_grpc.TrendServiceServicer):
    SERVICE = "zvh.v1.TrendService"
    REGELS = REGELS

    def __init__(self, authenticator: Authenticator, ontvanger: Ontvanger) -> None:
        super().__init__(authenticator)
        self._ontvanger = ontvanger

    @rpc
    async def Overzicht(self, request: T.OverzichtRequest, aanroep: Aanroep) -> T.OverzichtResponse:
        van = Periode.lees(request.periode_van, "periode_van") if request.periode_van else None
        tot = Periode.lees(request.periode_tot, "periode_tot") if request.periode_tot else None
        if van is not None and tot is not None:
            if van > tot:
                raise ValidationError(FieldViolation("periode_van", "ligt na periode_tot"))
            if (tot.jaar - van.jaar) * 12 + tot.maand - van.maand >= MAX_MAANDEN:
                raise ValidationError(FieldViolation("periode_van", f"ten hoogste {MAX_MAANDEN} maanden"))
        laatste = None
        if tot is None:
            alles = await self._ontvanger.laatste(van, None)
            laatste = max((Periode.lees(r.periode) for r in alles), default=None)
        van, tot = standaard_bereik(van, tot, laatste)
        if tot is None:
            return T.OverzichtResponse()
        return stel_samen(await self._ontvanger.laatste(van, tot))
