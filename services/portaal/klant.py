"""The portal as a client of its node's gRPC services, acting for one person.

Every call carries the portal's application token and ``x-zvh-namens: <user id>``;
the node looks the person's role up itself (gedeeld/grpc/authenticatie.py) and logs the person
as the actor in the verwerkingslog. A call without a person (``namens=None``) is
the portal itself: it may only follow the match feed, for e-mail notifications.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from gedeeld.grpc.authenticatie import NAMENS
from gedeeld.grpc.status import field_violations, tls_geweigerd
from gedeeld.zvh.v1 import casus_pb2 as C
from gedeeld.zvh.v1 import casus_pb2_grpc, samenwerking_pb2_grpc, trend_pb2_grpc, vraag_pb2_grpc
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from gedeeld.zvh.v1 import trend_pb2 as T
from gedeeld.zvh.v1 import vraag_pb2 as V

Req = TypeVar("Req")
Resp = TypeVar("Resp")

# What a person sees for each failure; the node's own (Dutch) message follows it.
UITLEG = {
    grpc.StatusCode.UNAUTHENTICATED: "U bent niet (meer) bekend bij de node",
    grpc.StatusCode.PERMISSION_DENIED: "Dit mag uw rol niet",
    grpc.StatusCode.NOT_FOUND: "Niet gevonden",
    grpc.StatusCode.INVALID_ARGUMENT: "Controleer de invoer",
    grpc.StatusCode.FAILED_PRECONDITION: "Dit kan nu niet",
    grpc.StatusCode.ALREADY_EXISTS: "Bestaat al",
    grpc.StatusCode.ABORTED: "Intussen door iemand anders gewijzigd; laad de pagina opnieuw",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "Te veel verzoeken; probeer het later opnieuw",
    grpc.StatusCode.UNAVAILABLE: "De node van deze regio is niet bereikbaar",
    grpc.StatusCode.DEADLINE_EXCEEDED: "De node antwoordde niet op tijd",
    grpc.StatusCode.UNIMPLEMENTED: "Deze functie draait niet op de node van deze regio",
}


@dataclass
class Fout(Exception):
    """A refused call: status, the message to show and the field violations by field path."""

    code: grpc.StatusCode
    melding: str
    velden: dict[str, str] = field(default_factory=dict)

    @classmethod
    def van(cls, exc: grpc.aio.AioRpcError, tls: bool = False) -> Fout:
        code = exc.code()
        details = exc.details() or ""
        uitleg = UITLEG.get(code, "Er ging iets mis")
        if code == grpc.StatusCode.UNAVAILABLE:
            # The transport's details are English and technical; one case matters to people:
            # a TLS handshake refused for a missing or unknown client certificate.
            details = (
                "het clientcertificaat ontbreekt of wordt geweigerd" if tls_geweigerd(details, tls) else ""
            )
        if code == grpc.StatusCode.UNIMPLEMENTED:
            details = ""  # grpc's "Method not found!" says nothing to a person
        melding = f"{uitleg}: {details}" if details else uitleg
        velden: dict[str, str] = {}
        for veld, tekst in field_violations(exc.trailing_metadata()):
            velden.setdefault(veld, tekst)
        return cls(code, melding, velden)


class Klant:
    def __init__(
        self, kanaal: grpc.aio.Channel, geheim: str, timeout: float = 15.0, tls: bool = False
    ) -> None:
        self._tls = tls
        self._casus = casus_pb2_grpc.CasusServiceStub(kanaal)
        self._match = samenwerking_pb2_grpc.MatchServiceStub(kanaal)
        self._vraag = vraag_pb2_grpc.VraagServiceStub(kanaal)
        self._trend = trend_pb2_grpc.TrendServiceStub(kanaal)
        self._geheim = geheim
        self._timeout = timeout

    def _md(self, namens: str | None) -> tuple[tuple[str, str], ...]:
        md: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {self._geheim}"),)
        if namens is not None:
            md += ((NAMENS, namens),)
        return md

    async def _roep(
        self,
        methode: grpc.aio.UnaryUnaryMultiCallable[Req, Resp],
        request: Req,
        namens: str,
        timeout: float | None = None,
    ) -> Resp:
        try:
            return await methode(request, metadata=self._md(namens), timeout=timeout or self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise Fout.van(exc, self._tls) from None

    # -- CasusService
    async def aanmelden(self, namens: str, req: C.AanmeldenRequest) -> C.Casus:
        resp: C.AanmeldenResponse = await self._roep(self._casus.Aanmelden, req, namens)
        return resp.casus

    async def casus(self, namens: str, casus_id: str) -> C.Casus:
        return await self._roep(self._casus.Ophalen, C.OphalenRequest(casus_id=casus_id), namens)

    async def casussen(self, namens: str, req: C.ZoekenRequest) -> C.ZoekenResponse:
        return await self._roep(self._casus.Zoeken, req, namens)

    async def toewijzen(self, namens: str, casus_id: str, procesregisseur: str) -> C.Casus:
        req = C.ToewijzenRequest(casus_id=casus_id, procesregisseur=procesregisseur)
        return await self._roep(self._casus.Toewijzen, req, namens)

    async def inzage(self, namens: str, req: C.InzageRequest) -> C.InzageResponse:
        return await self._roep(self._casus.Inzage, req, namens)

    # -- MatchService
    async def matches(self, namens: str, req: M.LijstRequest) -> M.LijstResponse:
        return await self._roep(self._match.Lijst, req, namens)

    async def match(self, namens: str, match_id: str) -> M.Match:
        req = M.MatchOphalenRequest(match_id=match_id)
        return await self._roep(self._match.Ophalen, req, namens)

    async def voorstellen(self, namens: str, req: M.VoorstellenRequest) -> M.Match:
        return await self._roep(self._match.Voorstellen, req, namens)

    async def akkoord(self, namens: str, req: M.AkkoordRequest) -> M.Match:
        return await self._roep(self._match.Akkoord, req, namens)

    async def afwijzen(self, namens: str, req: M.AfwijzenRequest) -> M.Match:
        return await self._roep(self._match.Afwijzen, req, namens)

    async def bericht(self, namens: str, req: M.BerichtRequest) -> M.Match:
        return await self._roep(self._match.Bericht, req, namens)

    async def volgen(self, namens: str | None, resume_token: str) -> AsyncIterator[M.MatchWijziging]:
        """The match feed from after ``resume_token`` (empty: from the start), without end."""
        stroom = self._match.Volgen(M.VolgenRequest(resume_token=resume_token), metadata=self._md(namens))
        try:
            async for wijziging in stroom:
                yield wijziging
        except grpc.aio.AioRpcError as exc:
            raise Fout.van(exc, self._tls) from None
        finally:
            stroom.cancel()

    # -- VraagService
    async def vragen(self, namens: str, req: V.VragenRequest) -> V.VragenResponse:
        return await self._roep(self._vraag.Vragen, req, namens, timeout=60)

    async def trends(self, namens: str, req: T.OverzichtRequest) -> T.OverzichtResponse:
        return await self._roep(self._trend.Overzicht, req, namens)
