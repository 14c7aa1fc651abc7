"""Hit/no-hit queries (vraag): asking other regions, and answering them.

Asking: an informatiecoördinator names a casus of this region that is active
(its persons are in our token index: purpose binding, no free lookups). For
each person we send the tokens we already hold, as a signed ``VraagVerzoek``,
to each asked region's ``zvh.vraag.<regio>`` and wait until the deadline.
No identifier is sent, and no extra OPRF evaluation is needed.

Answering: a core NATS subscription (a region that is down is "not answered",
not queued). A request is checked like a signal (size, envelope, sender,
signature) and then for addressee, epoch, freshness, replay and the asking
region's rate limit. The tokens are looked up in our own index, never stored.
The answer is signed and its content HPKE-encrypted to the asker, so the hub
cannot tell a hit from a no-hit. Both sides write a verwerkingslog record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from sqlalchemy import select

from gedeeld.beheer.metrics import VRAGEN_BEANTWOORD, VRAGEN_GESTELD
from gedeeld.beheer.tracing import HEADER, TraceContext, from_headers
from gedeeld.crypto.envelop import verzegel
from gedeeld.federatie.bericht import onderteken, ontsleutel_als, open_als
from gedeeld.federatie.poort import controleer, label, weiger
from gedeeld.federatie.snelheidslimiet import Limiet, Limieten
from gedeeld.fouten import BerichtFout, NotFoundError, PreconditionError, ValidationError
from gedeeld.fouten import FieldViolation as FV
from gedeeld.nats import onderwerpen
from gedeeld.nats.verbinding import bevestig
from gedeeld.nats.verzoek import Verzoeker
from gedeeld.verwerkingslog import Actor, Handeling
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import vraag_pb2 as V
from services.signalering.context import Context
from services.signalering.inkomend import MAX_CONTACT, MAX_ID, SLEUTELTYPES, zekerheid
from services.signalering.store import EigenSignaalRij, TokenRij

log = logging.getLogger("zvh.signalering")

VRAAG_INFO = b"zvh-vraag-v1"
VENSTER_MS = 60_000
STANDAARD_DEADLINE_MS = 2000
MAX_DEADLINE_MS = 10_000
# How long an asker waits for a casus registered a moment ago to reach the index.
WACHT_OP_INDEX = 3.0

_REDEN = {
    F.VRAAG_FOUT_LIMIET: V.NIET_BEANTWOORD_REDEN_LIMIET,
    F.VRAAG_FOUT_ONGELDIG: V.NIET_BEANTWOORD_REDEN_ONGELDIG,
    F.VRAAG_FOUT_VERKEERDE_EPOCH: V.NIET_BEANTWOORD_REDEN_ONGELDIG,
}
# The code a refused query is answered with, by refusal reason: the asker may retry after a
# ``limiet`` and knows its tokens are of the wrong epoch; anything else is ``ONGELDIG``.
_FOUT = {"limiet": F.VRAAG_FOUT_LIMIET, "verkeerde_epoch": F.VRAAG_FOUT_VERKEERDE_EPOCH}


def vraag_info(ontvanger: str) -> bytes:
    return VRAAG_INFO + b"\x00" + ontvanger.encode()


@dataclass(frozen=True)
class Persoon:
    """One person of the asking casus, as the index knows it."""

    betrokkene_id: str
    referentie: str
    tokens: list[TokenRij]


class Vrager:
    """The asking side."""

    def __init__(self, ctx: Context, nc: Client) -> None:
        self.ctx = ctx
        self._verzoeker = Verzoeker(nc, ctx.regio)

    async def personen(self, casus_id: str, betrokkene_id: str) -> list[Persoon]:
        """The casus's persons in our index; the purpose check of every query."""
        eind = time.monotonic() + WACHT_OP_INDEX
        while True:
            versie = self.ctx.index.versie
            signalen = await self._signalen(casus_id)
            if signalen or time.monotonic() >= eind:
                break
            await self.ctx.index.wacht_na(versie, eind - time.monotonic())
        actief = [r for r in signalen if not r.ingetrokken]
        if not actief:
            if signalen:
                raise PreconditionError(
                    f"casus {casus_id} is afgesloten of afgeschaald; "
                    "een vraag hoort bij een lopende aanmelding"
                )
            raise PreconditionError(
                f"casus {casus_id} heeft geen actieve signalering in deze regio: onbekend, nog niet "
                "verwerkt, of zonder bruikbare matchsleutels. Een vraag kan alleen over een eigen "
                "aangemelde casus (geen opzoeksysteem)."
            )
        if betrokkene_id:
            actief = [r for r in actief if r.betrokkene_id == betrokkene_id]
            if not actief:
                raise NotFoundError(f"betrokkene {betrokkene_id} hoort niet bij casus {casus_id}")
        async with self.ctx.db.lezen() as s:
            tokens = (
                (
                    await s.execute(
                        select(TokenRij).where(TokenRij.referentie.in_([r.referentie for r in actief]))
                    )
                )
                .scalars()
                .all()
            )
        per_ref: dict[str, list[TokenRij]] = {}
        for t in tokens:
            per_ref.setdefault(t.referentie, []).append(t)
        return [Persoon(r.betrokkene_id, r.referentie, per_ref.get(r.referentie, [])) for r in actief]

    async def _signalen(self, casus_id: str) -> list[EigenSignaalRij]:
        async with self.ctx.db.lezen() as s:
            return list(
                (
                    await s.execute(
                        select(EigenSignaalRij).where(
                            EigenSignaalRij.casus_id == casus_id,
                            EigenSignaalRij.epoch.in_(list(self.ctx.pseudonimiseerders)),
                        )
                    )
                ).scalars()
            )

    def doelregios(self, gevraagd: Sequence[str]) -> list[str]:
        andere = [c for c in self.ctx.federatie.regios if c != self.ctx.regio]
        if not gevraagd:
            return sorted(andere)
        onbekend = [c for c in gevraagd if c not in andere]
        if onbekend:
            raise ValidationError(
                FV("regios", f"geen andere regio in de federatie: {', '.join(sorted(set(onbekend)))[:200]}")
            )
        return sorted(set(gevraagd))

    async def vraag(
        self,
        casus_id: str,
        personen: list[Persoon],
        regios: list[str],
        deadline: float,
        trace: TraceContext,
        actor: Actor,
    ) -> V.VragenResponse:
        ctx = self.ctx
        vraag_id = str(uuid.uuid4())
        doel = uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.regio}/{casus_id}/{vraag_id}").hex
        start = ctx.klok.nu()
        taken = {
            (p.betrokkene_id, r): asyncio.create_task(self._een(vraag_id, doel, p, r, deadline, trace))
            for p in personen
            for r in regios
        }
        await asyncio.gather(*taken.values())
        antwoord = V.VragenResponse(vraag_id=vraag_id)
        treffers = 0
        for p in personen:
            res = antwoord.resultaten.add(betrokkene_id=p.betrokkene_id)
            for r in regios:
                uitkomst = taken[(p.betrokkene_id, r)].result()
                if isinstance(uitkomst, F.VraagUitslag):
                    if uitkomst.treffer:
                        treffers += 1
                        res.treffers.add(
                            regio=r,
                            zekerheid=uitkomst.zekerheid,
                            sleutel_types=list(uitkomst.sleutel_types),
                            contact=uitkomst.contact,
                        )
                    else:
                        res.geen_treffer.append(r)
                else:
                    res.niet_beantwoord.add(regio=r, reden=uitkomst)
        VRAGEN_GESTELD.inc()
        async with ctx.db.transaction() as s:
            await ctx.log.vastleggen(
                s,
                trace=trace,
                actor=actor,
                betrokkene_ids=[p.betrokkene_id for p in personen],
                handeling=Handeling("vraag_gesteld", ctx.activiteiten.bevraging, "casus", casus_id),
                start=start,
                details={"vraag_id": vraag_id, "regios": ",".join(regios)[:200], "treffers": treffers},
            )
        return antwoord

    async def _een(
        self, vraag_id: str, doel: str, p: Persoon, regio: str, deadline: float, trace: TraceContext
    ) -> F.VraagUitslag | V.NietBeantwoordReden.ValueType:
        ctx = self.ctx
        verzoek = F.VraagVerzoek(
            vraag_id=vraag_id,
            regio=ctx.regio,
            ontvanger=regio,
            epoch=ctx.federatie.epoch,
            tokens=[
                F.SignaalToken(sleutel_type=t.sleutel_type, token=t.token, epoch=t.epoch) for t in p.tokens
            ],
            tijdstip_ms=int(ctx.klok.nu().timestamp() * 1000),
            doel_referentie=doel,
        )
        data = onderteken(ctx.sleutels.ondertekening, ctx.regio, "vraag", verzoek.SerializeToString())
        resterend = deadline - time.monotonic()
        if resterend <= 0:
            return V.NIET_BEANTWOORD_REDEN_GEEN_ANTWOORD
        try:
            msg = await self._verzoeker.vraag(
                regio,
                onderwerpen.vraag(regio),
                data,
                timeout=resterend,
                headers={HEADER: trace.child().traceparent},
            )
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            return V.NIET_BEANTWOORD_REDEN_GEEN_ANTWOORD
        return self._lees_antwoord(msg.data, vraag_id, regio)

    def _lees_antwoord(
        self, data: bytes, vraag_id: str, regio: str
    ) -> F.VraagUitslag | V.NietBeantwoordReden.ValueType:
        ctx = self.ctx
        try:
            geopend = open_als(
                data, ctx.federatie, "vraag_antwoord", F.VraagAntwoord, onderwerpen.MAX_BERICHT
            )
            antwoord = geopend.inhoud
            if geopend.afzender != regio or antwoord.vraag_id != vraag_id or antwoord.ontvanger != ctx.regio:
                raise BerichtFout("onleesbaar", "answer does not belong to this query")
            if antwoord.fout != F.VRAAG_FOUT_GEEN:
                return _REDEN.get(antwoord.fout, V.NIET_BEANTWOORD_REDEN_ONGELDIG)
            uitslag = ontsleutel_als(
                ctx.sleutels.hpke, antwoord.envelop, vraag_info(ctx.regio), F.VraagUitslag
            )
            if uitslag.vraag_id != vraag_id or uitslag.regio != regio:
                raise BerichtFout("onleesbaar", "answer does not belong to this query")
            # Shown to the informatiecoördinator: the same text rules as everything from elsewhere.
            controleer(uitslag.contact, MAX_CONTACT)
            if any(t not in SLEUTELTYPES for t in uitslag.sleutel_types):
                raise BerichtFout("ongeldige_tekst", "an unknown key type")
        except BerichtFout as fout:
            weiger("vraag", fout.reden, afzender=label(ctx.federatie, regio))
            return V.NIET_BEANTWOORD_REDEN_ONGELDIG
        return uitslag


class Beantwoorder:
    """The answering side: one core NATS subscription on ``zvh.vraag.<own>``."""

    def __init__(
        self, ctx: Context, nc: Client, limiet: Limiet, klok: Callable[[], float] = time.monotonic
    ) -> None:
        self.ctx = ctx
        self.nc = nc
        self._limieten = Limieten(limiet, klok)
        self._gezien: dict[tuple[str, str], int] = {}  # (region, vraag id) -> expiry ms, against replays
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(onderwerpen.vraag(self.ctx.regio), cb=self._bij_vraag)
        await bevestig(self.nc)  # in place before the node reports itself ready

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _bij_vraag(self, msg: Msg) -> None:
        try:
            antwoord = await self.beantwoord(msg.data, from_headers(msg.headers))
            if msg.reply:
                await msg.respond(antwoord)
        except Exception:  # a query must never stop the subscription
            log.exception("answering a query failed")

    async def beantwoord(self, data: bytes, trace: TraceContext) -> bytes:
        ctx = self.ctx
        vraag_id, aanvrager = "", ""
        try:
            geopend = open_als(data, ctx.federatie, "vraag", F.VraagVerzoek, onderwerpen.MAX_BERICHT)
            verzoek = geopend.inhoud
            vraag_id = verzoek.vraag_id[:64]
            aanvrager = geopend.afzender  # the signature is verified: a refusal can go back to it
            self._controleer(aanvrager, verzoek)
        except BerichtFout as w:
            VRAGEN_BEANTWOORD.labels(w.reden).inc()
            weiger("vraag", w.reden, afzender=label(ctx.federatie, aanvrager))
            if not aanvrager:
                # Unverified sender: answer nothing that could be used to probe us.
                return b""
            fout = _FOUT.get(w.reden, F.VRAAG_FOUT_ONGELDIG)
            return self._onderteken(
                F.VraagAntwoord(vraag_id=vraag_id, ontvanger=aanvrager, fout=fout, opnieuw_na=w.opnieuw_na)
            )
        uitslag = await self._zoek(verzoek, trace)
        VRAGEN_BEANTWOORD.labels("treffer" if uitslag.treffer else "geen_treffer").inc()
        envelop = verzegel(
            ctx.federatie.regio(aanvrager).hpke_sleutel, uitslag.SerializeToString(), vraag_info(aanvrager)
        )
        return self._onderteken(F.VraagAntwoord(vraag_id=vraag_id, ontvanger=aanvrager, envelop=envelop))

    def _controleer(self, afzender: str, v: F.VraagVerzoek) -> None:
        ctx = self.ctx
        if v.regio != afzender or v.ontvanger != ctx.regio or not v.vraag_id or len(v.vraag_id) > 64:
            raise BerichtFout("onleesbaar", "the query names another asker or addressee, or no id")
        if not v.tokens or len(v.tokens) > 16 or any(len(t.token) != 64 for t in v.tokens):
            raise BerichtFout("onleesbaar", "malformed tokens")
        # Both land in the verwerkingslog: never a NUL byte or a bidi override.
        controleer(v.vraag_id, MAX_ID)
        controleer(v.doel_referentie, MAX_ID)
        if any(t.sleutel_type not in SLEUTELTYPES for t in v.tokens):
            raise BerichtFout("ongeldige_tekst", "an unknown key type")
        if not ctx.token_epochs(v.epoch, v.tokens):  # while keys switch, one served epoch will do
            raise BerichtFout("verkeerde_epoch", "tokens of an epoch this node does not serve")
        nu = int(ctx.klok.nu().timestamp() * 1000)
        if abs(nu - v.tijdstip_ms) > VENSTER_MS:
            raise BerichtFout("verlopen", "query time is more than a minute off")
        self._gezien = {k: t for k, t in self._gezien.items() if t > nu}
        # One vraag_id covers all persons of one query, so the replay key includes the tokens' owner.
        sleutel = (afzender, f"{v.vraag_id}/{v.tokens[0].token.hex()}")
        if sleutel in self._gezien:
            raise BerichtFout("herhaald", "this query was answered already (replay)")
        wacht = self._limieten.neem(afzender)
        if wacht:
            raise BerichtFout(
                "limiet", "query rate limit for your region reached", opnieuw_na=min(wacht, 3600.0)
            )
        self._gezien[sleutel] = nu + 2 * VENSTER_MS

    async def _zoek(self, v: F.VraagVerzoek, trace: TraceContext) -> F.VraagUitslag:
        ctx = self.ctx
        soorten = {t.token: t.sleutel_type for t in v.tokens}
        per = ctx.token_epochs(v.epoch, v.tokens)
        start = ctx.klok.nu()
        async with ctx.db.transaction() as s:
            rijen = [
                r
                for r in (
                    await s.execute(
                        select(TokenRij).where(
                            TokenRij.token.in_(list(per)), TokenRij.epoch.in_(list(ctx.pseudonimiseerders))
                        )
                    )
                ).scalars()
                if per.get(r.token) == r.epoch
            ]
            types = sorted({soorten[r.token] for r in rijen})
            betrokkenen = sorted({r.betrokkene_id for r in rijen})
            casussen = sorted({r.casus_id for r in rijen})  # our own ids: fine in our own log
            await ctx.log.vastleggen(
                s,
                trace=trace,
                actor=Actor(f"regio:{v.regio}", "regio", "hit/no-hit-vraag van een andere regio (WGS)"),
                betrokkene_ids=betrokkenen,
                handeling=Handeling("vraag_beantwoord", ctx.activiteiten.bevraging, "vraag", v.vraag_id),
                start=start,
                foreign_operation=f"{v.regio}/{v.vraag_id}"[:128],
                details={
                    "regio": v.regio,
                    "doel": v.doel_referentie[:64],
                    "treffer": int(bool(rijen)),
                    "casussen": ",".join(casussen)[:400],
                },
            )
        uitslag = F.VraagUitslag(vraag_id=v.vraag_id, regio=ctx.regio, treffer=bool(rijen))
        if rijen:
            uitslag.zekerheid = zekerheid(types)
            uitslag.sleutel_types.extend(types)
            uitslag.contact = ctx.contact
        return uitslag

    def _onderteken(self, antwoord: F.VraagAntwoord) -> bytes:
        ctx = self.ctx
        return onderteken(
            ctx.sleutels.ondertekening, ctx.regio, "vraag_antwoord", antwoord.SerializeToString()
        )
