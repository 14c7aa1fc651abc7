"""Other regions' signals and the treffers they send us.

A signal is checked before anything else is done with it (size, envelope,
sender in the registry, signature, sender = origin, epoch, expiry); a rejected
one is counted by reason and terminated, and the worker goes on. Tokens are
only looked up, never stored. A hit records the match (once per person pair:
a unique constraint, so simultaneous registrations and redeliveries cannot
make two) and sends the origin a treffer, HPKE-encrypted to it and signed,
with a Nats-Msg-Id derived from the pair so repeats are dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.crypto.envelop import verzegel
from gedeeld.errors import DecryptionError
from gedeeld.federatie.bericht import BerichtFout, onderteken, open_bericht
from gedeeld.identiteit import SleutelType, is_zeker
from gedeeld.jetstream import Uitkomst
from gedeeld.metrics import MATCHES, SIGNALEN_GEWEIGERD, SIGNALEN_ONTVANGEN, TREFFERS
from gedeeld.tracing import HEADER, TraceContext, from_headers, in_trace, voor_bericht
from gedeeld.verwerkingslog import Handeling
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.context import MAX_BERICHT, SYSTEEM, Context
from services.signalering.store import EigenSignaalRij, MatchRij, TokenRij, sluit_matches

log = logging.getLogger("zvh.signalering")

TREFFER_INFO = b"zvh-treffer-v1"
# Tokens per index query when a batch of signals is looked up at once (bound parameters stay
# far below SQLite's and PostgreSQL's limits, whatever a signal carries).
LOOKUP_PER_QUERY = 500


def zekerheid(types: Iterable[str]) -> F.Zekerheid.ValueType:
    soorten = {SleutelType(t) for t in types if t in SleutelType._value2member_map_}
    return F.ZEKERHEID_ZEKER if is_zeker(soorten) else F.ZEKERHEID_WAARSCHIJNLIJK


def weiger(reden: str, soort: str) -> Uitkomst:
    """A federation message refused: counted by reason, logged without content, never redelivered."""
    SIGNALEN_GEWEIGERD.labels(reden).inc()
    log.info("federation message rejected", extra={"reden": reden, "soort": soort})
    return Uitkomst.WEIGER


class Geweigerd(Exception):
    def __init__(self, reden: str) -> None:
        super().__init__(reden)
        self.reden = reden


@dataclass(frozen=True)
class _Geldig:
    """A signal that passed every check: its place in the batch and what handling it needs."""

    index: int
    signaal: F.Signaal
    afzender: str
    soort: str
    trace: TraceContext
    buitenland: str


def _mislukt(exc: Exception) -> Uitkomst:
    """One message of a batch failed (not rejected): redelivered, as a failing handler's would be."""
    log.warning("handler failed; message will be redelivered", extra={"error": type(exc).__name__})
    return Uitkomst.OPNIEUW


class Inkomend:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _weiger(self, reden: str, soort: str) -> Uitkomst:
        return weiger(reden, soort)

    # -- signals -------------------------------------------------------------

    async def bij_signaal(self, msg: Msg) -> Uitkomst:
        """One message, one transaction (the stream is quiet: a batch of one)."""
        if msg.subject == f"zvh.signaal.{self.ctx.regio}":
            return Uitkomst.KLAAR  # our own
        # The origin's trace continues here: the match, the verwerkingslog rows and the treffer.
        trace = voor_bericht(msg.headers)
        with in_trace(trace):
            try:
                geldig = self._controleer(0, msg, trace)
            except Geweigerd as g:
                return self._weiger(g.reden, "signaal")
            return await self._verwerk_los(geldig)

    async def bij_signalen(self, berichten: list[Msg]) -> list[Uitkomst]:
        """A fetched batch, in stream order, one outcome per message. Each message is checked on
        its own (a bad one is rejected and does not touch the others); the valid ones are looked
        up and recorded in ONE transaction (one fsync instead of one per signal). Should that
        transaction fail, the batch's valid signals are handled one at a time."""
        if len(berichten) == 1:
            msg = berichten[0]
            with in_trace(from_headers(msg.headers)):
                return [await self.bij_signaal(msg)]
        uitkomsten = [Uitkomst.KLAAR] * len(berichten)
        geldig: list[_Geldig] = []
        for i, msg in enumerate(berichten):
            if msg.subject == f"zvh.signaal.{self.ctx.regio}":
                continue  # our own
            trace = voor_bericht(msg.headers)
            with in_trace(trace):
                try:
                    geldig.append(self._controleer(i, msg, trace))
                except Geweigerd as fout:
                    uitkomsten[i] = self._weiger(fout.reden, "signaal")
                except Exception as exc:
                    uitkomsten[i] = _mislukt(exc)
        if not geldig:
            return uitkomsten
        try:
            resultaten = await self._verwerk_samen(geldig)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "batch of signals failed; handling them one at a time",
                extra={"regio": self.ctx.regio, "aantal": len(geldig), "error": type(exc).__name__},
            )
            for g in geldig:
                with in_trace(g.trace):
                    try:
                        uitkomsten[g.index] = await self._verwerk_los(g)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc2:
                        uitkomsten[g.index] = _mislukt(exc2)
            return uitkomsten
        for g, (na, uit) in zip(geldig, resultaten, strict=True):
            with in_trace(g.trace):
                try:
                    for stap in na:
                        stap()
                    await self._na_commit(g, uit)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    uitkomsten[g.index] = _mislukt(exc)
        return uitkomsten

    def _controleer(self, index: int, msg: Msg, trace: TraceContext) -> _Geldig:
        """Check one message (raises ``Geweigerd``) and count it as received."""
        signaal, afzender = self._lees_signaal(msg.data)
        soort = F.SignaalSoort.Name(signaal.soort).removeprefix("SIGNAAL_SOORT_").lower()
        SIGNALEN_ONTVANGEN.labels(soort).inc()
        buitenland = f"{afzender}/{(msg.headers or {}).get(HEADER, '')}"[:128]
        return _Geldig(index, signaal, afzender, soort, trace, buitenland)

    async def _verwerk_los(self, g: _Geldig) -> Uitkomst:
        """A checked signal in its own transaction; the treffers after the commit."""
        if g.signaal.soort == F.SIGNAAL_SOORT_INGETROKKEN:
            await self._sluit(g.afzender, g.signaal.referentie)
            await self._na_commit(g, None)
        else:
            await self._na_commit(g, await self._match(g.signaal, g.afzender, g.trace, g.buitenland))
        return Uitkomst.KLAAR

    async def _na_commit(self, g: _Geldig, uit: list[tuple[str, list[str]]] | None) -> None:
        """Send the treffers of a committed signal and log it (``uit`` is None for a withdrawal)."""
        if uit is None:
            log.info(
                "signal withdrawn by its region",
                extra={
                    "regio": self.ctx.regio,
                    "andere_regio": g.afzender,
                    "signaal_id": g.signaal.signaal_id,
                },
            )
            return
        for ref, types in uit:
            await self._stuur_treffer(g.signaal, g.afzender, ref, types, g.trace)
        log.info(
            "signal checked",
            extra={
                "regio": self.ctx.regio,
                "andere_regio": g.afzender,
                "signaal_id": g.signaal.signaal_id,
                "soort": g.soort,
                "treffers": len(uit),
            },
        )

    async def _verwerk_samen(
        self, geldig: list[_Geldig]
    ) -> list[tuple[list[Callable[[], None]], list[tuple[str, list[str]]] | None]]:
        """All checked signals of a batch in one transaction, in stream order: per signal the
        metrics and logs to emit once committed, and the treffers to send (None: a withdrawal)."""
        ctx = self.ctx
        epochs = {
            id(g): ctx.token_epochs(g.signaal.epoch, g.signaal.tokens)
            for g in geldig
            if g.signaal.soort == F.SIGNAAL_SOORT_ACTIEF
        }
        tokens = list({t for per in epochs.values() for t in per})
        uit: list[tuple[list[Callable[[], None]], list[tuple[str, list[str]]] | None]] = []
        async with ctx.db.transaction() as s:
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
            for g in geldig:
                na: list[Callable[[], None]] = []
                with in_trace(g.trace):
                    if g.signaal.soort == F.SIGNAAL_SOORT_INGETROKKEN:
                        await sluit_matches(
                            s,
                            ctx,
                            (MatchRij.andere_regio == g.afzender)
                            & (MatchRij.andere_referentie == g.signaal.referentie),
                        )
                        uit.append((na, None))
                        continue
                    per = epochs[id(g)]  # a token hits only rows of its own epoch
                    treffers = [t for token, e in per.items() for t in index.get(token, []) if t.epoch == e]
                    uit.append(
                        (
                            na,
                            await self._leg_vast(
                                s, g.signaal, g.afzender, g.trace, g.buitenland, treffers, na
                            ),
                        )
                    )
        return uit

    def _lees_signaal(self, data: bytes) -> tuple[F.Signaal, str]:
        ctx = self.ctx
        try:
            geopend = open_bericht(data, ctx.federatie, "signaal", MAX_BERICHT)
        except BerichtFout as exc:
            raise Geweigerd(exc.reden) from None
        try:
            signaal = F.Signaal.FromString(geopend.inhoud)
        except DecodeError:
            raise Geweigerd("onleesbaar") from None
        if signaal.regio != geopend.afzender or not signaal.referentie or len(signaal.referentie) > 32:
            raise Geweigerd("onleesbaar")
        if signaal.soort == F.SIGNAAL_SOORT_ACTIEF:
            if signaal.verloopt_op.ToDatetime(tzinfo=UTC) <= ctx.klok.nu():
                raise Geweigerd("verlopen")
            if not signaal.tokens or any(len(t.token) != 64 for t in signaal.tokens):
                raise Geweigerd("onleesbaar")
            # While keys switch, a signal carries tokens of two epochs: one this node serves will do.
            if not ctx.token_epochs(signaal.epoch, signaal.tokens):
                raise Geweigerd("verkeerde_epoch")
        elif signaal.soort != F.SIGNAAL_SOORT_INGETROKKEN:
            raise Geweigerd("onleesbaar")
        return signaal, geopend.afzender

    async def _match(
        self, signaal: F.Signaal, afzender: str, trace: TraceContext, buitenland: str
    ) -> list[tuple[str, list[str]]]:
        """Record a match per own person the signal hits; returns (own referentie, key types) of each."""
        ctx = self.ctx
        per = ctx.token_epochs(signaal.epoch, signaal.tokens)
        async with ctx.db.transaction() as s:
            treffers = (
                (
                    await s.execute(
                        select(TokenRij).where(
                            TokenRij.token.in_(list(per)), TokenRij.epoch.in_(list(ctx.pseudonimiseerders))
                        )
                    )
                )
                .scalars()
                .all()
            )
            treffers = [t for t in treffers if per.get(t.token) == t.epoch]
            return await self._leg_vast(s, signaal, afzender, trace, buitenland, treffers, None)

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
                if self.ctx.waarnemer is not None:
                    await self.ctx.waarnemer.gevonden(s, rij)
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
                f"zvh.treffer.{origin}", data, headers={"Nats-Msg-Id": msg_id, HEADER: span.traceparent}
            )
            TREFFERS.labels("verzonden").inc()
            log.info(
                "treffer sent",
                extra={"regio": ctx.regio, "andere_regio": origin, "signaal_id": signaal.signaal_id},
            )

    async def _sluit(self, regio: str, andere_ref: str) -> None:
        async with self.ctx.db.transaction() as s:
            await sluit_matches(
                s,
                self.ctx,
                (MatchRij.andere_regio == regio) & (MatchRij.andere_referentie == andere_ref),
            )

    # -- treffers ------------------------------------------------------------

    async def bij_treffer(self, msg: Msg) -> Uitkomst:
        # The trace of the signal (and so of the registration) that the other region matched.
        with in_trace(voor_bericht(msg.headers)) as trace:
            assert trace is not None
            return await self._treffer(msg, trace)

    async def _treffer(self, msg: Msg, trace: TraceContext) -> Uitkomst:
        ctx = self.ctx
        try:
            geopend = open_bericht(msg.data, ctx.federatie, "treffer", MAX_BERICHT)
            treffer = F.Treffer.FromString(geopend.inhoud)
            if treffer.ontvanger != ctx.regio:
                raise Geweigerd("onleesbaar")
            inhoud = F.TrefferInhoud.FromString(
                ctx.sleutels.hpke.open(treffer.envelop, TREFFER_INFO + b"\x00" + ctx.regio.encode())
            )
            if inhoud.regio != geopend.afzender:
                raise Geweigerd("onleesbaar")
        except BerichtFout as exc:
            return self._weiger(exc.reden, "treffer")
        except Geweigerd as g:
            return self._weiger(g.reden, "treffer")
        except (DecodeError, DecryptionError):
            return self._weiger("onleesbaar", "treffer")
        TREFFERS.labels("ontvangen").inc()
        async with ctx.db.transaction() as s:
            eigen = await s.get(EigenSignaalRij, inhoud.referentie_ontvanger)
            if eigen is None or eigen.ingetrokken:
                log.info(
                    "treffer received for a withdrawn signal",
                    extra={"regio": ctx.regio, "andere_regio": inhoud.regio},
                )
                return Uitkomst.KLAAR  # the case closed meanwhile: nothing to match
            match_id = await self._registreer(
                s,
                eigen.casus_id,
                eigen.betrokkene_id,
                eigen.referentie,
                inhoud.regio,
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
                foreign_operation=f"{inhoud.regio}/treffer",
                details={"regio": inhoud.regio},
            )
        log.info(
            "treffer received",
            extra={
                "regio": ctx.regio,
                "andere_regio": inhoud.regio,
                "casus_id": eigen.casus_id,
                "match_id": match_id,
                "sleutel_types": sorted(inhoud.sleutel_types),
            },
        )
        return Uitkomst.KLAAR
