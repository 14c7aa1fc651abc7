"""The share holder: evaluates blinded elements with this region's key share.

Every request is a signed ``OprfVerzoek`` from a region in the registry. It is
refused (with a signed ``OprfAntwoord`` naming the reason, and counted) when it
is oversized, unreadable, from an unknown region, badly signed, for another
epoch, stale or replayed, too large a batch, over the region's rate limit, or
holds an invalid group element. Nothing about the inputs is logged: they are
blinded, and even so only counts are recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from gedeeld.crypto.drempel import DeelEvaluatie, evalueer_deel
from gedeeld.crypto.groep import Element
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.shamir import Sleuteldeel
from gedeeld.errors import CryptoError
from gedeeld.federatie.bericht import BerichtFout, onderteken, open_bericht
from gedeeld.federatie.register import Federatie
from gedeeld.metrics import OPRF_EVALUATIES, OPRF_GEWEIGERD
from gedeeld.snelheidslimiet import Limiet, Limieten
from gedeeld.zvh.v1 import federatie_pb2 as F

log = logging.getLogger("zvh.sleuteldeel")

MAX_BATCH = 256
MAX_GROOTTE = 64 * 1024
VENSTER_MS = 60_000

# reason label -> protobuf error code
_CODES = {
    "te_groot": F.OPRF_FOUT_TE_GROOT,
    "onleesbaar": F.OPRF_FOUT_ONLEESBAAR,
    "onbekende_regio": F.OPRF_FOUT_ONBEKENDE_REGIO,
    "ongeldige_handtekening": F.OPRF_FOUT_ONGELDIGE_HANDTEKENING,
    "verkeerde_epoch": F.OPRF_FOUT_VERKEERDE_EPOCH,
    "verlopen": F.OPRF_FOUT_VERLOPEN,
    "limiet": F.OPRF_FOUT_LIMIET,
    "ongeldig_element": F.OPRF_FOUT_ONGELDIG_ELEMENT,
}

Auditor = Callable[[str, int, str], Awaitable[None]]


@dataclass
class _Geweigerd(Exception):
    reden: str
    uitleg: str
    opnieuw_na: float = 0.0


class Sleuteldeelhouder:
    def __init__(
        self,
        regio: str,
        federatie: Federatie,
        deel: Sleuteldeel,
        sleutel: Ondertekensleutel,
        limiet: Limiet,
        *,
        auditor: Auditor | None = None,
        klok_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        vorige: tuple[Federatie, Sleuteldeel] | None = None,
    ) -> None:
        self.regio = regio
        self._federatie = federatie
        self._deel = deel
        # While the federation switches keys, the previous epoch's share is served beside the new one.
        self._delen = {federatie.epoch: deel, **({vorige[0].epoch: vorige[1]} if vorige else {})}
        self._sleutel = sleutel
        self._limieten = Limieten(limiet)
        self._auditor = auditor
        self._klok_ms = klok_ms
        self._gezien: dict[tuple[str, str], int] = {}  # (region, request id) -> expiry, against replays

    async def behandel(self, data: bytes) -> bytes:
        """Answer one request; never raises."""
        verzoek_id, aanvrager = "", ""
        try:
            try:
                geopend = open_bericht(data, self._federatie, "oprf-verzoek", MAX_GROOTTE)
            except BerichtFout as exc:
                raise _Geweigerd(exc.reden, exc.message) from None
            aanvrager = geopend.afzender
            try:
                verzoek = F.OprfVerzoek.FromString(geopend.inhoud)
            except DecodeError:
                raise _Geweigerd("onleesbaar", "not an OprfVerzoek") from None
            verzoek_id = verzoek.verzoek_id[:64]
            evaluatie = self._evalueer(aanvrager, verzoek)
            epoch, deel = verzoek.epoch, self._delen[verzoek.epoch]
        except _Geweigerd as g:
            OPRF_GEWEIGERD.labels(g.reden).inc()
            log.info("oprf request refused", extra={"reden": g.reden, "aanvrager": aanvrager or "?"})
            if aanvrager:
                await self._audit(aanvrager, 0, g.reden)
            return self._antwoord(
                F.OprfAntwoord(
                    verzoek_id=verzoek_id,
                    epoch=self._federatie.epoch,
                    sleuteldeel_index=self._deel.index,
                    fout=_CODES[g.reden],
                    fout_uitleg=g.uitleg,
                    opnieuw_na=g.opnieuw_na,
                )
            )
        OPRF_EVALUATIES.labels(aanvrager).inc(len(evaluatie.evaluaties))
        await self._audit(aanvrager, len(evaluatie.evaluaties), "ok")
        return self._antwoord(
            F.OprfAntwoord(
                verzoek_id=verzoek_id,
                epoch=epoch,
                sleuteldeel_index=deel.index,
                evaluaties=[e.data for e in evaluatie.evaluaties],
                bewijs=evaluatie.bewijs,
            )
        )

    def _evalueer(self, aanvrager: str, verzoek: F.OprfVerzoek) -> DeelEvaluatie:
        if verzoek.epoch not in self._delen:
            raise _Geweigerd(
                "verkeerde_epoch", f"this holder serves epoch {', '.join(map(str, self._delen))}"
            )
        nu = self._klok_ms()
        if abs(nu - verzoek.tijdstip_ms) > VENSTER_MS:
            raise _Geweigerd("verlopen", "request time is more than a minute off")
        self._gezien = {k: v for k, v in self._gezien.items() if v > nu}
        sleutel = (aanvrager, verzoek.verzoek_id)
        if not verzoek.verzoek_id or sleutel in self._gezien:
            raise _Geweigerd("verlopen", "request id missing or already used (replay)")
        n = len(verzoek.geblindeerd)
        if not 1 <= n <= MAX_BATCH:
            raise _Geweigerd("te_groot", f"a batch holds 1 to {MAX_BATCH} elements")
        wacht = self._limieten.neem(aanvrager, n)
        if wacht:
            raise _Geweigerd("limiet", "rate limit for your region reached", opnieuw_na=min(wacht, 3600.0))
        try:
            elementen = [Element.lees(b) for b in verzoek.geblindeerd]
        except CryptoError:
            raise _Geweigerd("ongeldig_element", "a blinded element is not a valid group element") from None
        self._gezien[sleutel] = nu + 2 * VENSTER_MS
        return evalueer_deel(self._delen[verzoek.epoch], elementen)

    def _antwoord(self, antwoord: F.OprfAntwoord) -> bytes:
        return onderteken(self._sleutel, self.regio, "oprf-antwoord", antwoord.SerializeToString())

    async def _audit(self, aanvrager: str, aantal: int, resultaat: str) -> None:
        if self._auditor is None:
            return
        try:
            await self._auditor(aanvrager, aantal, resultaat)
        except Exception as exc:  # the audit store failing must not stop the key service
            log.warning("oprf audit record failed", extra={"error": type(exc).__name__})
