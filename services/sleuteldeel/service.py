"""The share holder: evaluates blinded elements with this region's key share.

Every request is a signed ``OprfVerzoek`` from a region in the registry. It is
refused (with a signed ``OprfAntwoord`` naming the reason, and counted per reason
and requesting region) when it is oversized, unreadable, from an unknown region,
badly signed, for another epoch, for another holder, stale, replayed (checked in
the database, so across instances), too large a batch, over the region's rate
limit, over its daily cap, too far ahead of the signals it publishes, carries a
bad onboarding window, or holds an invalid group element. A signed ``OprfPing``
is answered with a signed liveness answer and no evaluation. Nothing about the
inputs is logged: they are blinded, and even so only counts are recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from google.protobuf.message import DecodeError

from gedeeld.beheer.metrics import OPRF_EVALUATIES, OPRF_GEWEIGERD, OPRF_PINGS
from gedeeld.crypto.drempel import DeelEvaluatie, evalueer_deel, in_werker, vorig_pad
from gedeeld.crypto.groep import Element
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.shamir import Sleuteldeel
from gedeeld.federatie.bericht import BerichtFout, onderteken, open_als
from gedeeld.federatie.onboarding import Onboarding, OnboardingFout, lees_onboarding
from gedeeld.federatie.pseudonimiseerder import commitment_vingerafdruk
from gedeeld.federatie.register import Federatie
from gedeeld.federatie.snelheidslimiet import Limiet, Limieten
from gedeeld.fouten import CryptoError
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.sleuteldeel.signalen import SignaalTeller
from services.sleuteldeel.store import Boekhouding

log = logging.getLogger("zvh.sleuteldeel")

MAX_BATCH = 256
MAX_GROOTTE = 64 * 1024
VENSTER_MS = 60_000
PING_LIMIET = Limiet(per_seconde=1.0, burst=30)  # per requesting region; status pages cache their pings
VERHOUDING_OPNIEUW_S = 3600.0

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
    "verkeerde_houder": F.OPRF_FOUT_VERKEERDE_HOUDER,
    "herhaald": F.OPRF_FOUT_HERHAALD,
    "dagplafond": F.OPRF_FOUT_DAGPLAFOND,
    "buiten_verhouding": F.OPRF_FOUT_BUITEN_VERHOUDING,
    "ongeldige_onboarding": F.OPRF_FOUT_ONGELDIGE_ONBOARDING,
}

Auditor = Callable[[str, int, str], Awaitable[None]]
_B = TypeVar("_B", F.OprfVerzoek, F.OprfPing)


@dataclass(frozen=True)
class Bescherming:
    """What one requesting region may take from this holder (docs/crypto.md has the arithmetic).

    ``dagplafond``: evaluations per UTC day (0: no cap; for tests only). ``verhouding``: evaluations
    allowed per signal the region published in the last ``verhouding_dagen`` days, on top of
    ``verhouding_basis`` (0: no ratio check). An onboarding window adds at most ``onboarding_max``
    evaluations over at most ``onboarding_max_dagen`` days."""

    dagplafond: int = 2_000
    verhouding: float = 20.0
    verhouding_basis: int = 1_000
    verhouding_dagen: int = 14
    onboarding_max: int = 50_000
    onboarding_max_dagen: int = 31


def _tot_middernacht(nu: datetime) -> float:
    morgen = (nu + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (morgen - nu).total_seconds())


class Sleuteldeelhouder:
    def __init__(
        self,
        regio: str,
        federatie: Federatie,
        deel: Sleuteldeel,
        sleutel: Ondertekensleutel,
        limiet: Limiet,
        *,
        boekhouding: Boekhouding,
        bescherming: Bescherming | None = None,
        signalen: SignaalTeller | None = None,
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
        self._pings = Limieten(PING_LIMIET)
        self._boekhouding = boekhouding
        self.bescherming = bescherming or Bescherming()
        self._signalen = signalen
        self._auditor = auditor
        self._klok_ms = klok_ms
        # k_i·G once per epoch's share, not per request (the proof needs it); the previous path
        # recomputed it.
        self._commitments = {e: Element.basis_maal(d.waarde) for e, d in self._delen.items()}
        self._vingerafdruk = commitment_vingerafdruk(self._commitments[federatie.epoch])
        self._vorig = vorig_pad()
        self._laatste_weigering: dict[tuple[str, str], int] = {}  # (region, reason) -> ms of its audit

    async def behandel(self, data: bytes) -> bytes:
        """Answer one request or ping; never raises."""
        if len(data) <= MAX_GROOTTE:
            try:
                soort = F.Ondertekend.FromString(data).soort
            except DecodeError:
                soort = ""
            if soort == "oprf-ping":
                return await self._ping(data)
        verzoek_id, aanvrager = "", ""
        try:
            aanvrager, verzoek = self._open(data, "oprf-verzoek", MAX_GROOTTE, F.OprfVerzoek)
            verzoek_id = verzoek.verzoek_id[:64]
            evaluatie = await self._evalueer(aanvrager, verzoek)
            epoch, deel = verzoek.epoch, self._delen[verzoek.epoch]
        except BerichtFout as g:
            aanvrager = aanvrager or g.afzender
            self._tel_weigering(g.reden, aanvrager)
            log.info("oprf request refused", extra={"reden": g.reden, "aanvrager": aanvrager or "?"})
            if aanvrager and self._audit_weigering(aanvrager, g.reden):
                await self._audit(aanvrager, 0, g.reden)
            return self._antwoord(
                F.OprfAntwoord(
                    verzoek_id=verzoek_id,
                    epoch=self._federatie.epoch,
                    sleuteldeel_index=self._deel.index,
                    fout=_CODES[g.reden],
                    fout_uitleg=g.message,
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

    def _open(self, data: bytes, soort: str, maximum: int, bericht: type[_B]) -> tuple[str, _B]:
        """The verified sender and the parsed message of a signed request or ping."""
        geopend = open_als(data, self._federatie, soort, bericht, maximum)
        return geopend.afzender, geopend.inhoud

    def _audit_weigering(self, aanvrager: str, reden: str) -> bool:
        """At most one audit record per (region, reason) a minute for refusals: nothing was processed,
        and a region resending signed requests must not be able to fill the audit log. The metric
        counts every refusal."""
        nu = self._klok_ms()
        if nu - self._laatste_weigering.get((aanvrager, reden), -VENSTER_MS) < VENSTER_MS:
            return False
        self._laatste_weigering[aanvrager, reden] = nu
        return True

    def _tel_weigering(self, reden: str, aanvrager: str) -> None:
        # Only registry codes as label values: a forged sender name must not grow the series.
        OPRF_GEWEIGERD.labels(reden, aanvrager if aanvrager in self._federatie.regios else "onbekend").inc()

    async def _evalueer(self, aanvrager: str, verzoek: F.OprfVerzoek) -> DeelEvaluatie:
        if verzoek.epoch not in self._delen:  # two epochs side by side while keys switch
            raise BerichtFout(
                "verkeerde_epoch", f"this holder serves epoch {', '.join(map(str, self._delen))}"
            )
        if verzoek.houder != self.regio:
            raise BerichtFout("verkeerde_houder", f"this is holder {self.regio}; a request names its holder")
        nu_ms = self._klok_ms()
        if abs(nu_ms - verzoek.tijdstip_ms) > VENSTER_MS:
            raise BerichtFout("verlopen", "request time is more than a minute off")
        if not verzoek.verzoek_id:
            raise BerichtFout("verlopen", "request id missing")
        n = len(verzoek.geblindeerd)
        if not 1 <= n <= MAX_BATCH:
            raise BerichtFout("te_groot", f"a batch holds 1 to {MAX_BATCH} elements")
        try:
            elementen = [Element.lees(b) for b in verzoek.geblindeerd]
        except CryptoError:
            raise BerichtFout("ongeldig_element", "a blinded element is not a valid group element") from None
        wacht = self._limieten.neem(aanvrager, n)
        if wacht:
            raise BerichtFout("limiet", "rate limit for your region reached", opnieuw_na=min(wacht, 3600.0))
        nu = datetime.fromtimestamp(nu_ms / 1000, UTC)
        verloopt = datetime.fromtimestamp((nu_ms + 2 * VENSTER_MS) / 1000, UTC)
        if not await self._boekhouding.markeer(aanvrager, verzoek.verzoek_id[:64], verloopt, nu):
            raise BerichtFout("herhaald", "this request was answered already (replay)")
        onboarding = self._onboarding(aanvrager, verzoek.onboarding, nu)
        await self._neem(aanvrager, n, nu, onboarding)
        deel = self._delen[verzoek.epoch]
        if self._vorig:
            return evalueer_deel(deel, elementen)
        # CPU-bound (n + ~8 scalar multiplications): a worker thread, so the event loop keeps serving.
        return await in_werker(evalueer_deel, deel, elementen, self._commitments[verzoek.epoch])

    def _onboarding(self, aanvrager: str, data: bytes, nu: datetime) -> Onboarding | None:
        if not data:
            return None
        try:
            o = lees_onboarding(data, self._federatie.beheerder_sleutel)
        except OnboardingFout as exc:
            raise BerichtFout("ongeldige_onboarding", exc.message) from None
        b = self.bescherming
        if o.regio != aanvrager:
            raise BerichtFout("ongeldige_onboarding", "the onboarding window is for another region")
        if o.extra > b.onboarding_max or o.tot - o.van > timedelta(days=b.onboarding_max_dagen):
            raise BerichtFout(
                "ongeldige_onboarding",
                f"this holder allows at most {b.onboarding_max} extra evaluations "
                f"over at most {b.onboarding_max_dagen} days",
            )
        return o if o.open_op(nu) else None  # a closed window simply gives nothing

    async def _neem(self, aanvrager: str, n: int, nu: datetime, onboarding: Onboarding | None) -> None:
        b = self.bescherming
        verhouding: tuple[int, int] | None = None
        if b.verhouding:
            signalen = await self._signalen.aantal(aanvrager) if self._signalen is not None else 0
            toegestaan = (
                b.verhouding_basis + int(b.verhouding * signalen) + (onboarding.extra if onboarding else 0)
            )
            verhouding = (b.verhouding_dagen, toegestaan)
        reden = await self._boekhouding.neem(
            aanvrager,
            n,
            nu,
            dagplafond=b.dagplafond,
            verhouding=verhouding,
            onboarding=onboarding,
            onboarding_grens=(b.onboarding_max, b.onboarding_max_dagen),
        )
        if reden == "dagplafond":
            raise BerichtFout(
                "dagplafond",
                f"your region's {b.dagplafond} evaluations for this UTC day at this holder are used up; "
                "retry after 00:00 UTC, or ask the beheerder for an onboarding window",
                opnieuw_na=_tot_middernacht(nu),
            )
        if reden == "buiten_verhouding":
            raise BerichtFout(
                "buiten_verhouding",
                f"your region's evaluations in the last {b.verhouding_dagen} days run too far ahead of "
                "the signals it published; retry later, or ask the beheerder for an onboarding window",
                opnieuw_na=VERHOUDING_OPNIEUW_S,
            )

    async def _ping(self, data: bytes) -> bytes:
        """A liveness answer: region, epoch, index and the fingerprint of k_i·G; no evaluation."""
        verzoek_id, aanvrager = "", ""
        try:
            aanvrager, ping = self._open(data, "oprf-ping", 4096, F.OprfPing)
            verzoek_id = ping.verzoek_id[:64]
            if ping.houder != self.regio:
                raise BerichtFout("verkeerde_houder", f"this is holder {self.regio}")
            if abs(self._klok_ms() - ping.tijdstip_ms) > VENSTER_MS:
                raise BerichtFout("verlopen", "ping time is more than a minute off")
            wacht = self._pings.neem(aanvrager)
            if wacht:
                raise BerichtFout("limiet", "ping rate limit for your region reached", opnieuw_na=wacht)
        except BerichtFout as g:
            aanvrager = aanvrager or g.afzender
            self._tel_weigering(g.reden, aanvrager)
            antwoord = F.OprfLevensteken(
                verzoek_id=verzoek_id, regio=self.regio, fout=_CODES[g.reden], fout_uitleg=g.message,
                opnieuw_na=g.opnieuw_na,
            )  # fmt: skip
        else:
            OPRF_PINGS.labels(aanvrager).inc()
            antwoord = F.OprfLevensteken(
                verzoek_id=verzoek_id,
                regio=self.regio,
                epoch=self._federatie.epoch,
                sleuteldeel_index=self._deel.index,
                commitment_vingerafdruk=self._vingerafdruk,
            )
        return onderteken(self._sleutel, self.regio, "oprf-levensteken", antwoord.SerializeToString())

    def _antwoord(self, antwoord: F.OprfAntwoord) -> bytes:
        return onderteken(self._sleutel, self.regio, "oprf-antwoord", antwoord.SerializeToString())

    async def _audit(self, aanvrager: str, aantal: int, resultaat: str) -> None:
        if self._auditor is None:
            return
        try:
            await self._auditor(aanvrager, aantal, resultaat)
        except Exception as exc:  # the audit store failing must not stop the key service
            log.warning("oprf audit record failed", extra={"error": type(exc).__name__})
