"""``Pseudonimiseerder``: turns match keys into tokens with the federation's threshold OPRF.

Fans out a signed, blinded batch to t+1 share holders in parallel, checks each
answer (signature, request id, epoch, index) and verifies DLEQ proofs against the
holders' commitments only until t answers are valid: the spare's proof is checked
only when an earlier one fails. It combines those t answers with the unblinding
folded into the Lagrange coefficients. Blinding, proof checks and combining run in
a worker thread (libsodium releases the GIL), not on the event loop. A holder that is down,
slow or lying is reported and replaced by the next one, so pseudonymisation
keeps working while up to n-t holders fail. Holders that failed recently are
asked last. The whole batch honours one deadline.

Each request names its holder (signed), so it cannot be forwarded to another.
A holder that refuses because this region is over its rate limit, daily cap or
evaluations-to-signals ratio is no failing holder: no replacement is asked (every
holder keeps the same counts, and asking more would only spend more), and the
caller gets a ``RateLimitedError`` with the holder's retry advice.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

import nats.errors
from google.protobuf.message import Message
from nats.aio.client import Client

from gedeeld.beheer.metrics import OPRF_HOUDER_FOUT
from gedeeld.beheer.tracing import HEADER, huidig
from gedeeld.crypto.drempel import DeelEvaluatie, Verzoek, in_werker, vorig_pad
from gedeeld.crypto.groep import Element
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.federatie.bericht import onderteken, open_als
from gedeeld.federatie.onboarding import lees_onboarding
from gedeeld.federatie.register import Federatie, Regio
from gedeeld.fouten import BerichtFout, CryptoError, RateLimitedError, UnavailableError
from gedeeld.nats import onderwerpen
from gedeeld.nats.verzoek import Verzoeker
from gedeeld.zvh.v1 import federatie_pb2 as F

log = logging.getLogger("zvh.pseudonimiseerder")

_A = TypeVar("_A", bound=Message)

MAX_BATCH = 256
# Refusals that concern this region, not the holder: asking another holder would not help.
BEPERKINGEN = frozenset({"limiet", "dagplafond", "buiten_verhouding"})


class OngeldigAntwoord(Exception):
    def __init__(self, reden: str, opnieuw_na: float = 0.0) -> None:
        super().__init__(reden)
        self.reden = reden
        self.opnieuw_na = opnieuw_na


def _weigering(fout: F.OprfFout.ValueType, opnieuw_na: float) -> OngeldigAntwoord:
    """A holder's refusal, by its reason label (``dagplafond``, ``herhaald``, …)."""
    return OngeldigAntwoord(F.OprfFout.Name(fout).removeprefix("OPRF_FOUT_").lower(), opnieuw_na)


def commitment_vingerafdruk(commitment: Element) -> bytes:
    """SHA-256 of a commitment k_i·G, as a holder's liveness answer carries it."""
    return hashlib.sha256(b"zvh-sleuteldeel-commitment-v1\x00" + commitment.data).digest()


class Pseudonimiseerder:
    def __init__(
        self,
        nc: Client,
        regio: str,
        federatie: Federatie,
        sleutel: Ondertekensleutel,
        *,
        deadline: float = 5.0,
        per_houder: float = 2.0,
        onboarding: bytes | None = None,
    ) -> None:
        self._verzoeker = Verzoeker(nc, regio)
        self._regio = regio
        self._federatie = federatie
        self._sleutel = sleutel
        self._deadline = deadline
        self._per_houder = per_houder
        # The beheerder's signed onboarding window (holders check it), attached until it ends.
        self._onboarding = onboarding or b""
        self._onboarding_tot = (
            lees_onboarding(onboarding, federatie.beheerder_sleutel).tot.timestamp() if onboarding else 0.0
        )
        self.fouten: Counter[str] = Counter()  # holder code -> failures (recent ones weigh first)
        self._rotatie = itertools.count()
        self._vorig = vorig_pad()

    async def tokens(self, invoer: Sequence[bytes]) -> list[bytes]:
        """One token per input, in order. Raises UnavailableError when t valid answers cannot be had."""
        batches = [invoer[i : i + MAX_BATCH] for i in range(0, len(invoer), MAX_BATCH)]
        try:
            async with asyncio.timeout(self._deadline):
                delen = await asyncio.gather(*(self._batch(b) for b in batches))
        except TimeoutError:
            raise UnavailableError(
                f"pseudonymisation did not finish within {self._deadline}s: "
                "too few key-share holders answered"
            ) from None
        return [t for deel in delen for t in deel]

    def _volgorde(self) -> list[Regio]:
        regios = sorted(self._federatie.regios.values(), key=lambda r: r.index)
        start = next(self._rotatie) % len(regios)  # spread load over the holders
        geroteerd = regios[start:] + regios[:start]
        return sorted(geroteerd, key=lambda r: self.fouten[r.code])  # stable: healthy first

    async def _verzoek(self, invoer: Sequence[bytes]) -> tuple[Verzoek, F.OprfVerzoek]:
        verzoek = Verzoek.maak(invoer) if self._vorig else await in_werker(Verzoek.maak, invoer)
        inhoud = F.OprfVerzoek(
            verzoek_id=str(uuid.uuid4()),
            epoch=self._federatie.epoch,
            geblindeerd=[e.data for e in verzoek.geblindeerd],
            tijdstip_ms=int(time.time() * 1000),
            onboarding=self._onboarding if time.time() < self._onboarding_tot else b"",
        )
        return verzoek, inhoud

    def _voor(self, inhoud: F.OprfVerzoek, houder: str) -> bytes:
        """The request signed for one holder: it names that holder, so no other holder answers it."""
        eigen = F.OprfVerzoek()
        eigen.CopyFrom(inhoud)
        eigen.houder = houder
        return onderteken(self._sleutel, self._regio, "oprf-verzoek", eigen.SerializeToString())

    async def peil(self) -> dict[str, str]:
        """Ping every share holder: ``ok`` or the reason it failed, per holder. For ``zvhctl status``;
        a ping is answered without any evaluation (its region, epoch, index and share fingerprint)."""

        async def een(regio: Regio) -> str:
            try:
                await self._ping(regio)
            except OngeldigAntwoord as exc:
                return exc.reden
            return "ok"

        regios = sorted(self._federatie.regios.values(), key=lambda r: r.index)
        return dict(zip((r.code for r in regios), await asyncio.gather(*map(een, regios)), strict=True))

    async def _ping(self, regio: Regio) -> None:
        verzoek_id = str(uuid.uuid4())
        ping = F.OprfPing(verzoek_id=verzoek_id, houder=regio.code, tijdstip_ms=int(time.time() * 1000))
        bericht = onderteken(self._sleutel, self._regio, "oprf-ping", ping.SerializeToString())
        try:
            antwoord = await self._verzoeker.vraag(
                regio.code, onderwerpen.oprf(regio.code), bericht, timeout=self._per_houder
            )
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            raise OngeldigAntwoord("geen_antwoord") from None
        a = self._open(regio, antwoord.data, "oprf-levensteken", 4096, F.OprfLevensteken)
        if a.fout:
            raise _weigering(a.fout, a.opnieuw_na)
        if a.verzoek_id != verzoek_id or a.regio != regio.code or a.sleuteldeel_index != regio.index:
            raise OngeldigAntwoord("verkeerd_antwoord")
        if a.epoch != self._federatie.epoch:
            raise OngeldigAntwoord("verkeerde_epoch")
        if a.commitment_vingerafdruk != commitment_vingerafdruk(regio.commitment):
            raise OngeldigAntwoord("verkeerd_sleuteldeel")

    def _open(self, regio: Regio, data: bytes, soort: str, max_grootte: int, soort_cls: type[_A]) -> _A:
        """The content of a holder's signed answer; raises OngeldigAntwoord."""
        try:
            geopend = open_als(data, self._federatie, soort, soort_cls, max_grootte)
        except BerichtFout as exc:
            raise OngeldigAntwoord(exc.reden) from None
        if geopend.afzender != regio.code:
            raise OngeldigAntwoord("verkeerde_afzender")
        return geopend.inhoud

    async def _batch(self, invoer: Sequence[bytes]) -> list[bytes]:
        t = self._federatie.drempel
        verzoek, inhoud = await self._verzoek(invoer)
        wachtrij = self._volgorde()
        lopend: dict[asyncio.Task[DeelEvaluatie], Regio] = {}
        geldig: dict[int, DeelEvaluatie] = {}
        beperkt: list[OngeldigAntwoord] = []

        def start_volgende() -> None:
            regio = wachtrij.pop(0)
            taak = asyncio.create_task(
                self._vraag(regio, self._voor(inhoud, regio.code), inhoud.verzoek_id, verzoek)
            )
            lopend[taak] = regio

        for _ in range(min(t + 1, len(wachtrij))):
            start_volgende()
        try:
            while len(geldig) < t:
                if len(geldig) + len(lopend) < t and beperkt:
                    # Over a limit at one holder: asking further holders would only spend more.
                    wacht = max(b.opnieuw_na for b in beperkt)
                    redenen = ", ".join(sorted({b.reden for b in beperkt}))
                    raise RateLimitedError(
                        "de sleuteldeelhouders geven deze regio nu geen pseudoniemen meer "
                        f"({redenen}); opnieuw over {wacht:.0f} seconden",
                        retry_after=wacht,
                    )
                if len(geldig) + len(lopend) < t and wachtrij:
                    start_volgende()
                    continue
                if not lopend:
                    raise UnavailableError(f"only {len(geldig)} of {t} key-share holders answered validly")
                klaar, _ = await asyncio.wait(lopend, return_when=asyncio.FIRST_COMPLETED)
                for taak in klaar:
                    regio = lopend.pop(taak)
                    try:
                        deel = taak.result()
                        if len(geldig) >= t:
                            continue  # enough valid answers already: this one is not checked
                        if not self._vorig:
                            await self._controleer(verzoek, deel, regio)
                        geldig[regio.index] = deel
                        self.fouten[regio.code] = max(0, self.fouten[regio.code] - 1)
                    except OngeldigAntwoord as exc:
                        if exc.reden in BEPERKINGEN:
                            beperkt.append(exc)
                            OPRF_HOUDER_FOUT.labels(regio.code, exc.reden).inc()
                            log.info(
                                "key-share holder refused: over a limit",
                                extra={"houder": regio.code, "reden": exc.reden},
                            )
                            continue
                        self.fouten[regio.code] += 1
                        OPRF_HOUDER_FOUT.labels(regio.code, exc.reden).inc()
                        log.warning(
                            "key-share holder failed", extra={"houder": regio.code, "reden": exc.reden}
                        )
        finally:
            for taak in lopend:
                taak.cancel()
        if self._vorig:
            return verzoek.combineer(geldig, t, gevouwen=False)
        return await in_werker(verzoek.combineer, geldig, t)

    @staticmethod
    async def _controleer(verzoek: Verzoek, deel: DeelEvaluatie, regio: Regio) -> None:
        try:
            await in_werker(verzoek.controleer, deel, regio.commitment)
        except CryptoError:
            raise OngeldigAntwoord("ongeldig_bewijs") from None

    async def _vraag(self, regio: Regio, bericht: bytes, verzoek_id: str, verzoek: Verzoek) -> DeelEvaluatie:
        try:
            # The holder's audit record joins the requester's trace (LDV foreign_operation).
            trace = huidig()
            antwoord = await self._verzoeker.vraag(
                regio.code,
                onderwerpen.oprf(regio.code),
                bericht,
                timeout=self._per_houder,
                headers={HEADER: trace.child().traceparent} if trace is not None else None,
            )
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            raise OngeldigAntwoord("geen_antwoord") from None
        a = self._open(regio, antwoord.data, "oprf-antwoord", 64 * 1024, F.OprfAntwoord)
        if a.fout:
            raise _weigering(a.fout, a.opnieuw_na)
        if (
            a.verzoek_id != verzoek_id
            or a.epoch != self._federatie.epoch
            or a.sleuteldeel_index != regio.index
        ):
            raise OngeldigAntwoord("verkeerd_antwoord")
        try:
            deel = DeelEvaluatie(regio.index, tuple(Element.lees(e) for e in a.evaluaties), a.bewijs)
            if self._vorig:  # the previous path checked every answer it received, on the event loop
                verzoek.controleer(deel, regio.commitment)
        except CryptoError:
            raise OngeldigAntwoord("ongeldig_bewijs") from None
        return deel
