"""VraagService: the gRPC face of hit/no-hit queries, for informatiecoördinators."""

from __future__ import annotations

import time
from collections.abc import Mapping

from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.grpc import velden
from gedeeld.grpc.authenticatie import Authenticator, Rol
from gedeeld.grpc.rpc import Aanroep, BeveiligdeService, rpc
from gedeeld.tekst import controleer_tekst
from gedeeld.zvh.v1 import vraag_pb2 as V
from gedeeld.zvh.v1 import vraag_pb2_grpc
from services.signalering.vraag import MAX_DEADLINE_MS, STANDAARD_DEADLINE_MS, Vrager

# Assessing a referral is the informatiecoördinator's task (Landelijk Kader);
# procesregisseurs see matches through signalering, without asking.
REGELS: Mapping[str, frozenset[Rol]] = {"Vragen": frozenset({Rol.INFORMATIECOORDINATOR})}


class VraagService(BeveiligdeService, vraag_pb2_grpc.VraagServiceServicer):
    SERVICE = "zvh.v1.VraagService"
    REGELS = REGELS

    def __init__(self, authenticator: Authenticator, vrager: Vrager) -> None:
        super().__init__(authenticator)
        self._vrager = vrager

    @rpc
    async def Vragen(self, request: V.VragenRequest, aanroep: Aanroep) -> V.VragenResponse:
        velden.casus_id(request.casus_id)
        if request.betrokkene_id:
            velden.uuid_id(request.betrokkene_id, "betrokkene_id", "betrokkene-id")
        if len(request.regios) > 64:
            raise ValidationError(FieldViolation("regios", "ten hoogste 64 regio's"))
        for i, regio in enumerate(request.regios):
            controleer_tekst(f"regios[{i}]", regio, maximum=32)
        if request.deadline_ms > MAX_DEADLINE_MS:
            raise ValidationError(
                FieldViolation(
                    "deadline_ms", f"ten hoogste {MAX_DEADLINE_MS} ms (0: {STANDAARD_DEADLINE_MS})"
                )
            )
        regios = self._vrager.doelregios(list(request.regios))
        personen = await self._vrager.personen(request.casus_id, request.betrokkene_id)
        deadline = time.monotonic() + (request.deadline_ms or STANDAARD_DEADLINE_MS) / 1000
        return await self._vrager.vraag(
            request.casus_id, personen, regios, deadline, aanroep.trace, aanroep.actor
        )
