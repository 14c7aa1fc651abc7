"""Other regions' signals and the treffers they send us.

A message is checked before anything else is done with it, cheapest first
(gedeeld/federatie/poort.py: the subject's sender, a rate per sending region,
size, envelope, signature, signer = the subject's sender; then here: content,
text fields, epoch, expiry); a rejected one is counted by kind, sender and
reason and terminated, and the worker goes on. Tokens are only looked up,
never stored. Per reference of another region the newest signal wins
(``sg_referentie_stand``): an older or replayed signal cannot re-open what a
withdrawal closed. A hit records the match (once per person pair: a unique
constraint, so simultaneous registrations and redeliveries cannot make two)
and sends the origin a treffer, HPKE-encrypted to it and signed, with a
Nats-Msg-Id derived from the pair so repeats are dropped. A treffer is only
accepted for a reference we signalled and have not withdrawn, and at most
``MAX_MATCHES_PER_REFERENTIE`` persons of one region per own person.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nats.aio.msg import Msg
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.beheer.metrics import FEDERATIE_GEWEIGERD, MATCHES, SIGNALEN_ONTVANGEN, TREFFERS
from gedeeld.beheer.tracing import HEADER, TraceContext, in_trace, voor_bericht
from gedeeld.crypto.envelop import verzegel
from gedeeld.federatie.bericht import onderteken, ontsleutel_als
from gedeeld.federatie.poort import BESCHERMING, Eigen, controleer, weiger
from gedeeld.fouten import BerichtFout
from gedeeld.identiteit import SleutelType, is_zeker
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import Uitkomst
from gedeeld.verwerkingslog import Handeling
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.context import SYSTEEM, Context
from services.signalering.store import (
    EigenSignaalRij,
    MatchRij,
    ReferentieStand,
    TokenRij,
    meld_gevonden,
    sluit_matches,
)

log = logging.getLogger("zvh.signalering")

TREFFER_INFO = b"zvh-treffer-v1"
# Tokens per index query when a batch of signals is looked up at once (bound parameters stay
# far below SQLite's and PostgreSQL's limits, whatever a signal carries).
LOOKUP_PER_QUERY = 500
# Fixed maxima of what another region sends (the columns they land in are no wider).
MAX_REFERENTIE = 32
MAX_ID = 64
MAX_CONTACT = 200
MAX_TOKENS = 64
# Persons of one other region that can match one own person: a person has a handful of cases in
# a region at most; more is fabricated (refused as ``te_veel_matches``).
MAX_MATCHES_PER_REFERENTIE = 5
SLEUTELTYPES = frozenset(t.value for t in SleutelType)

__all__ = ["Inkomend", "zekerheid"]


def zekerheid(types: Iterable[str]) -> F.Zekerheid.ValueType:
    soorten = {SleutelType(t) for t in types if t in SleutelType._value2member_map_}
    return F.ZEKERHEID_ZEKER if is_zeker(soorten) else F.ZEKERHEID_WAARSCHIJNLIJK


@dataclass(frozen=True)
class _Geldig:
    """A signal that passed every check: its place in the batch and what handling it needs."""

    index: int
    signaal: F.Signaal
    afzender: str
    soort: str
    trace: TraceContext
    buitenland: str
    tijdstip: datetime
    subject: str = ""


@dataclass
class _Verwerkt:
    """What one checked signal came to inside the transaction; emitted once it committed."""

    na: list[Callable[[], None]] = field(default_factory=list)
    treffers: list[tuple[str, list[str]]] | None = None  # None: a withdrawal
    verouderd: bool = False


def _mislukt(exc: Exception) -> Uitkomst:
    """One message of a batch failed (not rejected): redelivered, as a failing handler's would be."""
    log.warning("handler failed; message will be redelivered", extra={"error": type(exc).__name__})
    return Uitkomst.OPNIEUW


class Inkomend:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- signals -------------------------------------------------------------

    async def bij_signaal(self, msg: Msg) -> Uitkomst:
        """One message, one transaction (the stream is quiet: a batch of one)."""
        return (await self.bij_signalen([msg]))[0]

    async def bij_signalen(self, berichten: list[Msg]) -> list[Uitkomst]:
        """A fetched batch, in stream order, one outcome per message. Each message is checked on
        its own (a bad one is rejected and does not touch the others); the valid ones are looked
        up and recorded in ONE transaction (one fsync instead of one per signal). Should that
        transaction fail, the batch's valid signals are handled one at a time."""
        uitkomsten = [Uitkomst.KLAAR] * len(berichten)
        geldig: list[_Geldig] = []
        for i, msg in enumerate(berichten):
            try:
                # Subject and rate first: a flood from one region stops here, in microseconds.
                afzender = self.ctx.poort.afzender("signaal", msg.subject)
            except Eigen:
                continue  # our own
            except BerichtFout as fout:
                herkomst = self.ctx.poort.herkomst("signaal", msg.subject)
                uitkomsten[i] = weiger("signaal", fout.reden, afzender=herkomst, subject=msg.subject)
                continue
            # The origin's trace continues here: the match, the verwerkingslog rows and the treffer.
            trace = voor_bericht(msg.headers)
            with in_trace(trace):
                try:
                    geldig.append(self._controleer(i, msg, afzender, trace))
                except BerichtFout as fout:
                    uitkomsten[i] = weiger("signaal", fout.reden, afzender=afzender, subject=msg.subject)
                except Exception as exc:
                    uitkomsten[i] = _mislukt(exc)
        if not geldig:
            return uitkomsten
        try:
            resultaten = await self._verwerk_samen(geldig)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if len(geldig) > 1:
                log.warning(
                    "batch of signals failed; handling them one at a time",
                    extra={"regio": self.ctx.regio, "aantal": len(geldig), "error": type(exc).__name__},
                )
            for g in geldig:
                with in_trace(g.trace):
                    try:
                        uitkomsten[g.index] = await self._na_commit(g, await self._verwerk_los(g))
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc2:
                        uitkomsten[g.index] = _mislukt(exc2)
            return uitkomsten
        for g, verwerkt in zip(geldig, resultaten, strict=True):
            with in_trace(g.trace):
                try:
                    uitkomsten[g.index] = await self._na_commit(g, verwerkt)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    uitkomsten[g.index] = _mislukt(exc)
        return uitkomsten

    def _controleer(self, index: int, msg: Msg, afzender: str, trace: TraceContext) -> _Geldig:
        """Check one message (raises ``BerichtFout``) and count it as received."""
        signaal = self._lees_signaal(msg.data, afzender)
        afzender = signaal.regio  # the signer (the subject's sender, unless a test turned that off)
        soort = F.SignaalSoort.Name(signaal.soort).removeprefix("SIGNAAL_SOORT_").lower()
        SIGNALEN_ONTVANGEN.labels(soort).inc()
        buitenland = f"{afzender}/{(msg.headers or {}).get(HEADER, '')}"[:128]
        tijdstip = signaal.tijdstip.ToDatetime(tzinfo=UTC)
        return _Geldig(index, signaal, afzender, soort, trace, buitenland, tijdstip, msg.subject)

    async def _verwerk_los(self, g: _Geldig) -> _Verwerkt:
        """A checked signal in its own transaction."""
        async with self.ctx.db.transaction() as s:
            return (await self._in_transactie(s, [g]))[0]

    async def _na_commit(self, g: _Geldig, verwerkt: _Verwerkt) -> Uitkomst:
        """Once committed: metrics and logs, and the treffers of an active signal."""
        if verwerkt.verouderd:
            # Older than what we hold for this reference (a redelivery after a newer signal, or a
            # replay): nothing to do. Acknowledged, not terminated: a redelivery is no attack.
            FEDERATIE_GEWEIGERD.labels("signaal", g.afzender, "verouderd").inc()
            log.info(
                "signal older than the newest seen for its reference; ignored",
                extra={"regio": self.ctx.regio, "andere_regio": g.afzender, "subject": g.subject},
            )
            return Uitkomst.KLAAR
        for stap in verwerkt.na:
            stap()
        if verwerkt.treffers is None:
            log.info(
                "signal withdrawn by its region",
                extra={
                    "regio": self.ctx.regio,
                    "andere_regio": g.afzender,
                    "signaal_id": g.signaal.signaal_id,
                },
            )
            return Uitkomst.KLAAR
        for ref, types in verwerkt.treffers:
            await self._stuur_treffer(g.signaal, g.afzender, ref, types, g.trace)
        log.info(
            "signal checked",
            extra={
                "regio": self.ctx.regio,
                "andere_regio": g.afzender,
                "signaal_id": g.signaal.signaal_id,
                "soort": g.soort,
                "treffers": len(verwerkt.treffers),
            },
        )
        return Uitkomst.KLAAR

    async def _verwerk_samen(self, geldig: list[_Geldig]) -> list[_Verwerkt]:
        """All checked signals of a batch in one transaction, in stream order."""
        async with self.ctx.db.transaction() as s:
            return await self._in_transactie(s, geldig)

    async def _in_transactie(self, s: AsyncSession, geldig: list[_Geldig]) -> list[_Verwerkt]:
        ctx = self.ctx
        # While keys switch, a signal carries tokens of two epochs: each is looked up under its own.
        epochs = {
            id(g): ctx.token_epochs(g.signaal.epoch, g.signaal.tokens)
            for g in geldig
            if g.signaal.soort == F.SIGNAAL_SOORT_ACTIEF
        }
        tokens = list({t for per in epochs.values() for t in per})
        # Incoming signals never change the token index, so one lookup serves the whole batch.
        index: dict[bytes, list[TokenRij]] = {}
        for begin in range(0, len(tokens), LOOKUP_PER_QUERY):
            deel = tokens[begin : begin + LOOKUP_PER_QUERY]
            rijen = await s.execute(
                select(TokenRij).where(
                    TokenRij.token.in_(deel), TokenRij.epoch.in_(list(ctx.pseudonimiseerders))
                )
            )
            for rij in rijen.scalars():
                index.setdefault(rij.token, []).append(rij)
        uit: list[_Verwerkt] = []
        for g in geldig:
            verwerkt = _Verwerkt()
            uit.append(verwerkt)
            with in_trace(g.trace):
                if not await self._nieuwste(s, g):
                    verwerkt.verouderd = True
                    continue
                if g.signaal.soort == F.SIGNAAL_SOORT_INGETROKKEN:
                    await sluit_matches(
                        s,
                        ctx,
                        (MatchRij.andere_regio == g.afzender)
                        & (MatchRij.andere_referentie == g.signaal.referentie),
                    )
                    continue
                per = epochs[id(g)]  # a token hits only rows of its own epoch
                treffers = [t for token, e in per.items() for t in index.get(token, []) if t.epoch == e]
                verwerkt.treffers = await self._leg_vast(
                    s, g.signaal, g.afzender, g.trace, g.buitenland, treffers, verwerkt.na
                )
        return uit

    async def _nieuwste(self, s: AsyncSession, g: _Geldig) -> bool:
        """Record ``g`` as the newest state of its reference; False when a newer signal (or, at the
        same moment, a withdrawal) is already known: the newest state wins."""
        ingetrokken = g.signaal.soort == F.SIGNAAL_SOORT_INGETROKKEN
        stand = await s.get(ReferentieStand, (g.afzender, g.signaal.referentie))
        if stand is None:
            s.add(
                ReferentieStand(
                    regio=g.afzender,
                    referentie=g.signaal.referentie,
                    tijdstip=g.tijdstip,
                    signaal_id=g.signaal.signaal_id,
                    ingetrokken=ingetrokken,
                )
            )
            await s.flush()  # a later signal of the same batch must see it
            return True
        if BESCHERMING.stand and (
            g.tijdstip < stand.tijdstip
            or (g.tijdstip == stand.tijdstip and stand.ingetrokken and not ingetrokken)
        ):
            return False
        if g.tijdstip > stand.tijdstip:
            stand.tijdstip, stand.signaal_id = g.tijdstip, g.signaal.signaal_id
            stand.ingetrokken = ingetrokken
        elif g.tijdstip == stand.tijdstip and ingetrokken:
            stand.ingetrokken = True  # at the same moment, the withdrawal wins
        return True

    def _lees_signaal(self, data: bytes, afzender: str) -> F.Signaal:
        ctx = self.ctx
        geopend = ctx.poort.open_als("signaal", data, afzender, F.Signaal)
        signaal = geopend.inhoud
        if signaal.regio != geopend.afzender:
            raise BerichtFout("onleesbaar", "the signal names another region than its signer")
        controleer(signaal.referentie, MAX_REFERENTIE, leeg=False)
        controleer(signaal.signaal_id, MAX_ID, leeg=False)
        if signaal.soort == F.SIGNAAL_SOORT_ACTIEF:
            if signaal.verloopt_op.ToDatetime(tzinfo=UTC) <= ctx.klok.nu():
                raise BerichtFout("verlopen", "the signal has expired")
            if (
                not signaal.tokens
                or len(signaal.tokens) > MAX_TOKENS
                or any(len(t.token) != 64 for t in signaal.tokens)
            ):
                raise BerichtFout("onleesbaar", "malformed tokens")
            # While keys switch, a signal carries tokens of two epochs: one this node serves will do.
            if not ctx.token_epochs(signaal.epoch, signaal.tokens):
                raise BerichtFout("verkeerde_epoch", "tokens of an epoch this node does not serve")
            # The key type ends up in the match (and decides ZEKER): only the known ones.
            if BESCHERMING.tekst and any(t.sleutel_type not in SLEUTELTYPES for t in signaal.tokens):
                raise BerichtFout("ongeldige_tekst", "an unknown key type")
        elif signaal.soort != F.SIGNAAL_SOORT_INGETROKKEN:
            raise BerichtFout("onleesbaar", "an unknown kind of signal")
        return signaal

    async def _leg_vast(
        self,
        s: AsyncSession,
        signaal: F.Signaal,
        afzender: str,
        trace: TraceContext,
        buitenland: str,
        treffers: Sequence[TokenRij],
        na: list[Callable[[], None]] | None,
    ) -> list[tuple[str, list[str]]]:
        """Within ``s``: a match and a verwerkingslog row per own person that ``treffers`` (index
        rows hit by the signal's tokens) name."""
        ctx = self.ctx
        soorten = {t.token: t.sleutel_type for t in signaal.tokens}
        per_persoon: dict[str, list[TokenRij]] = {}
        for t in treffers:
            per_persoon.setdefault(t.referentie, []).append(t)
        uit: list[tuple[str, list[str]]] = []
        for ref, rijen in per_persoon.items():
            types = sorted({soorten[t.token] for t in rijen})
            await self._registreer(
                s,
                rijen[0].casus_id,
                rijen[0].betrokkene_id,
                ref,
                afzender,
                signaal.referentie,
                types,
                ctx.federatie.regio(afzender).contact,
                na,
            )
            await ctx.log.vastleggen(
                s,
                trace=trace,
                actor=SYSTEEM,
                betrokkene_ids=[rijen[0].betrokkene_id],
                handeling=Handeling("match_gevonden", ctx.activiteiten.matching, "casus", rijen[0].casus_id),
                foreign_operation=buitenland,
                details={"regio": afzender},
            )
            uit.append((ref, types))
        return uit

    async def _registreer(
        self,
        s: AsyncSession,
        casus_id: str,
        betrokkene_id: str,
        eigen_ref: str,
        regio: str,
        andere_ref: str,
        types: list[str],
        contact: str,
        na: list[Callable[[], None]] | None = None,
    ) -> str | None:
        """The new match's id; None when the pair was already known. With ``na``, the metric and
        log line are appended to it (to emit once the shared transaction committed)."""
        nu = self.ctx.klok.nu()
        try:
            async with s.begin_nested():
                rij = MatchRij(
                    match_id=str(uuid.uuid4()),
                    eigen_casus_id=casus_id,
                    eigen_betrokkene_id=betrokkene_id,
                    eigen_referentie=eigen_ref,
                    andere_regio=regio,
                    andere_referentie=andere_ref,
                    sleutel_types=",".join(types),
                    zekerheid=zekerheid(types),
                    status="OPEN",
                    contact=contact,
                    aangemaakt_op=nu,
                    gewijzigd_op=nu,
                )
                s.add(rij)
                await s.flush()
                await meld_gevonden(s, self.ctx, rij)
            zeker = F.Zekerheid.Name(zekerheid(types)).removeprefix("ZEKERHEID_").lower()
            velden = {
                "regio": self.ctx.regio,
                "match_id": rij.match_id,
                "casus_id": casus_id,
                "andere_regio": regio,
                "sleutel_types": types,
                "zekerheid": zeker,
            }

            def gevonden() -> None:
                MATCHES.labels(zeker).inc()
                log.info("match found", extra=velden)

            if na is None:
                gevonden()
            else:
                na.append(gevonden)
            return rij.match_id
        except IntegrityError:
            # Already known (the other side's treffer came first, or a redelivery): keep one match.
            if contact:
                await s.execute(
                    update(MatchRij)
                    .where(
                        MatchRij.eigen_referentie == eigen_ref,
                        MatchRij.andere_regio == regio,
                        MatchRij.andere_referentie == andere_ref,
                    )
                    .values(contact=contact)
                )
            return None

    async def _stuur_treffer(
        self, signaal: F.Signaal, origin: str, eigen_ref: str, types: list[str], trace: TraceContext
    ) -> None:
        ctx = self.ctx
        inhoud = F.TrefferInhoud(
            signaal_id=signaal.signaal_id,
            referentie_ontvanger=signaal.referentie,
            regio=ctx.regio,
            referentie=eigen_ref,
            sleutel_types=types,
            zekerheid=zekerheid(types),
            contact=ctx.contact,
            epoch=signaal.epoch,
        )
        envelop = verzegel(
            ctx.federatie.regio(origin).hpke_sleutel,
            inhoud.SerializeToString(),
            TREFFER_INFO + b"\x00" + origin.encode(),
        )
        data = onderteken(
            ctx.sleutels.ondertekening,
            ctx.regio,
            "treffer",
            F.Treffer(ontvanger=origin, envelop=envelop).SerializeToString(),
        )
        msg_id = hashlib.sha256(f"{signaal.signaal_id}\x00{ctx.regio}\x00{eigen_ref}".encode()).hexdigest()
        span = trace.child()
        with in_trace(span):
            await ctx.js.publish(
                onderwerpen.treffer(origin, ctx.regio),
                data,
                headers={"Nats-Msg-Id": msg_id, HEADER: span.traceparent},
            )
            TREFFERS.labels("verzonden").inc()
            log.info(
                "treffer sent",
                extra={"regio": ctx.regio, "andere_regio": origin, "signaal_id": signaal.signaal_id},
            )

    # -- treffers ------------------------------------------------------------

    async def bij_treffer(self, msg: Msg) -> Uitkomst:
        try:
            afzender = self.ctx.poort.afzender("treffer", msg.subject)
        except BerichtFout as fout:
            herkomst = self.ctx.poort.herkomst("treffer", msg.subject)
            return weiger("treffer", fout.reden, afzender=herkomst, subject=msg.subject)
        # The trace of the signal (and so of the registration) that the other region matched.
        trace = voor_bericht(msg.headers)
        with in_trace(trace):
            try:
                return await self._treffer(msg, afzender, trace)
            except BerichtFout as fout:
                return weiger("treffer", fout.reden, afzender=afzender, subject=msg.subject)

    def _lees_treffer(self, msg: Msg, afzender: str) -> F.TrefferInhoud:
        ctx = self.ctx
        geopend = ctx.poort.open_als("treffer", msg.data, afzender, F.Treffer)
        if geopend.inhoud.ontvanger != ctx.regio:
            raise BerichtFout("onleesbaar", "a treffer for another region")
        inhoud = ontsleutel_als(
            ctx.sleutels.hpke,
            geopend.inhoud.envelop,
            TREFFER_INFO + b"\x00" + ctx.regio.encode(),
            F.TrefferInhoud,
        )
        if inhoud.regio != geopend.afzender:
            raise BerichtFout("verkeerde_herkomst", "the treffer names another region than its signer")
        # Every text field, before any of it reaches the database (SQLite and PostgreSQL alike).
        controleer(inhoud.referentie_ontvanger, MAX_REFERENTIE, leeg=False)
        controleer(inhoud.referentie, MAX_REFERENTIE, leeg=False)
        controleer(inhoud.signaal_id, MAX_ID)
        controleer(inhoud.contact, MAX_CONTACT)
        if BESCHERMING.tekst and (
            not inhoud.sleutel_types
            or len(inhoud.sleutel_types) > len(SLEUTELTYPES)
            or any(t not in SLEUTELTYPES for t in inhoud.sleutel_types)
        ):
            raise BerichtFout("ongeldige_tekst", "missing, repeated or unknown key types")
        return inhoud

    async def _treffer(self, msg: Msg, afzender: str, trace: TraceContext) -> Uitkomst:
        ctx = self.ctx
        inhoud = self._lees_treffer(msg, afzender)
        TREFFERS.labels("ontvangen").inc()
        async with ctx.db.transaction() as s:
            eigen = await s.get(EigenSignaalRij, inhoud.referentie_ontvanger)
            if BESCHERMING.treffer_referentie:
                # Only for a person we signalled (every region saw it) and still signal.
                if eigen is None:
                    raise BerichtFout("onbekende_referentie", "a treffer for a referentie we never signalled")
                if eigen.ingetrokken:
                    raise BerichtFout("ingetrokken", "a treffer for a referentie we withdrew")
                if inhoud.epoch not in ctx.pseudonimiseerders:  # either epoch while keys switch
                    raise BerichtFout("verkeerde_epoch", "a treffer of an epoch this node does not serve")
                andere = (
                    await s.execute(
                        select(func.count())
                        .select_from(MatchRij)
                        .where(
                            MatchRij.eigen_referentie == eigen.referentie,
                            MatchRij.andere_regio == afzender,
                            MatchRij.andere_referentie != inhoud.referentie,
                        )
                    )
                ).scalar_one()
                if andere >= MAX_MATCHES_PER_REFERENTIE:
                    raise BerichtFout("te_veel_matches", "too many persons of one region for one of ours")
            elif eigen is None:
                return Uitkomst.KLAAR
            match_id = await self._registreer(
                s,
                eigen.casus_id,
                eigen.betrokkene_id,
                eigen.referentie,
                afzender,
                inhoud.referentie,
                list(inhoud.sleutel_types),
                inhoud.contact,
            )
            await ctx.log.vastleggen(
                s,
                trace=trace,
                actor=SYSTEEM,
                betrokkene_ids=[eigen.betrokkene_id],
                handeling=Handeling("match_gevonden", ctx.activiteiten.matching, "casus", eigen.casus_id),
                foreign_operation=f"{afzender}/treffer",
                details={"regio": afzender},
            )
        log.info(
            "treffer received",
            extra={
                "regio": ctx.regio,
                "andere_regio": afzender,
                "casus_id": eigen.casus_id,
                "match_id": match_id,
                "sleutel_types": sorted(inhoud.sleutel_types),
            },
        )
        return Uitkomst.KLAAR
