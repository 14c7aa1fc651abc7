"""``Pseudonimiseerder``: turns match keys into tokens with the federation's threshold OPRF.

Fans out a signed, blinded batch to t+1 share holders in parallel, verifies each
answer (signature, request id, epoch, index, DLEQ proof against the holder's
commitment), and combines the first t valid answers. A holder that is down,
slow or lying is reported and replaced by the next one, so pseudonymisation
keeps working while up to n-t holders fail. Holders that failed recently are
asked last. The whole batch honours one deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Sequence

import nats.errors
from nats.aio.client import Client

from gedeeld import onderwerpen
from gedeeld.crypto.drempel import DeelEvaluatie, Verzoek
from gedeeld.crypto.groep import Element
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.errors import CryptoError, UnavailableError
from gedeeld.federatie.bericht import BerichtFout, onderteken, open_bericht
from gedeeld.federatie.register import Federatie, Regio
from gedeeld.metrics import OPRF_HOUDER_FOUT
from gedeeld.tracing import HEADER, huidig
from gedeeld.verzoek import Verzoeker
from gedeeld.zvh.v1 import federatie_pb2 as F

log = logging.getLogger("zvh.pseudonimiseerder")

MAX_BATCH = 256


class OngeldigAntwoord(Exception):
    def __init__(self, reden: str) -> None:
        super().__init__(reden)
        self.reden = reden


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
    ) -> None:
        self._verzoeker = Verzoeker(nc, regio)
        self._regio = regio
        self._federatie = federatie
        self._sleutel = sleutel
        self._deadline = deadline
        self._per_houder = per_houder
        self.fouten: Counter[str] = Counter()  # holder code -> failures (recent ones weigh first)
        self._rotatie = itertools.count()

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

    def _verzoek(self, invoer: Sequence[bytes]) -> tuple[Verzoek, str, bytes]:
        verzoek = Verzoek.maak(invoer)
        inhoud = F.OprfVerzoek(
            verzoek_id=str(uuid.uuid4()),
            epoch=self._federatie.epoch,
            geblindeerd=[e.data for e in verzoek.geblindeerd],
            tijdstip_ms=int(time.time() * 1000),
        )
        bericht = onderteken(self._sleutel, self._regio, "oprf-verzoek", inhoud.SerializeToString())
        return verzoek, inhoud.verzoek_id, bericht

    async def peil(self) -> dict[str, str]:
        """Ask every share holder to evaluate one random element (and check its proof): ``ok`` or
        the reason it failed, per holder. For ``zvhctl status``; costs each holder one evaluation."""
        verzoek, verzoek_id, bericht = self._verzoek([secrets.token_bytes(32)])

        async def een(regio: Regio) -> str:
            try:
                await self._vraag(regio, bericht, verzoek_id, verzoek)
            except OngeldigAntwoord as exc:
                return exc.reden
            return "ok"

        regios = sorted(self._federatie.regios.values(), key=lambda r: r.index)
        return dict(zip((r.code for r in regios), await asyncio.gather(*map(een, regios)), strict=True))

    async def _batch(self, invoer: Sequence[bytes]) -> list[bytes]:
        t = self._federatie.drempel
        verzoek, verzoek_id, bericht = self._verzoek(invoer)
        wachtrij = self._volgorde()
        lopend: dict[asyncio.Task[DeelEvaluatie], Regio] = {}
        geldig: dict[int, DeelEvaluatie] = {}

        def start_volgende() -> None:
            regio = wachtrij.pop(0)
            taak = asyncio.create_task(self._vraag(regio, bericht, verzoek_id, verzoek))
            lopend[taak] = regio

        for _ in range(min(t + 1, len(wachtrij))):
            start_volgende()
        try:
            while len(geldig) < t:
                if len(geldig) + len(lopend) < t and wachtrij:
                    start_volgende()
                    continue
                if not lopend:
                    raise UnavailableError(f"only {len(geldig)} of {t} key-share holders answered validly")
                klaar, _ = await asyncio.wait(lopend, return_when=asyncio.FIRST_COMPLETED)
                for taak in klaar:
                    regio = lopend.pop(taak)
                    try:
                        geldig[regio.index] = taak.result()
                        self.fouten[regio.code] = max(0, self.fouten[regio.code] - 1)
                    except OngeldigAntwoord as exc:
                        self.fouten[regio.code] += 1
                        OPRF_HOUDER_FOUT.labels(regio.code, exc.reden).inc()
                        log.warning(
                            "key-share holder failed", extra={"houder": regio.code, "reden": exc.reden}
                        )
        finally:
            for taak in lopend:
                taak.cancel()
        return verzoek.combineer(geldig, t)

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
        try:
            geopend = open_bericht(antwoord.data, self._federatie, "oprf-antwoord", 64 * 1024)
            a = F.OprfAntwoord.FromString(geopend.inhoud)
        except (BerichtFout, Exception) as exc:
            raise OngeldigAntwoord(getattr(exc, "reden", "onleesbaar")) from None
        if geopend.afzender != regio.code:
            raise OngeldigAntwoord("verkeerde_afzender")
        if a.fout:
            raise OngeldigAntwoord(F.OprfFout.Name(a.fout).removeprefix("OPRF_FOUT_").lower())
        if (
            a.verzoek_id != verzoek_id
            or a.epoch != self._federatie.epoch
            or a.sleuteldeel_index != regio.index
        ):
            raise OngeldigAntwoord("verkeerd_antwoord")
        try:
            deel = DeelEvaluatie(regio.index, tuple(Element.lees(e) for e in a.evaluaties), a.bewijs)
            verzoek.controleer(deel, regio.commitment)
        except CryptoError:
            raise OngeldigAntwoord("ongeldig_bewijs") from None
        return deel
