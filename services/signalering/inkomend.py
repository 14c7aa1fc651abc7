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

import hashlib
import logging
import uuid
from collections.abc import Iterable
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
from gedeeld.tracing import HEADER, TraceContext, in_trace, voor_bericht
from gedeeld.verwerkingslog import Handeling
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.context import MAX_BERICHT, SYSTEEM, Context
from services.signalering.store import EigenSignaalRij, MatchRij, TokenRij, sluit_matches

log = logging.getLogger("zvh.signalering")

TREFFER_INFO = b"zvh-treffer-v1"


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


class Inkomend:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _weiger(self, reden: str, soort: str) -> Uitkomst:
        return weiger(reden, soort)

    # -- signals -------------------------------------------------------------

    async def bij_signaal(self, msg: Msg) -> Uitkomst:
        if msg.subject == f"zvh.signaal.{self.ctx.regio}":
            return Uitkomst.KLAAR  # our own
        # The origin's trace continues here: the match, the verwerkingslog rows and the treffer.
        trace = voor_bericht(msg.headers)
        with in_trace(trace):
            try:
                signaal, afzender = self._lees_signaal(msg.data)
            except Geweigerd as g:
                return self._weiger(g.reden, "signaal")
            soort = F.SignaalSoort.Name(signaal.soort).removeprefix("SIGNAAL_SOORT_").lower()
            SIGNALEN_ONTVANGEN.labels(soort).inc()
            buitenland = f"{afzender}/{(msg.headers or {}).get(HEADER, '')}"[:128]
            if signaal.soort == F.SIGNAAL_SOORT_INGETROKKEN:
                await self._sluit(afzender, signaal.referentie)
                log.info(
                    "signal withdrawn by its region",
                    extra={
                        "regio": self.ctx.regio,
                        "andere_regio": afzender,
                        "signaal_id": signaal.signaal_id,
                    },
                )
                return Uitkomst.KLAAR
            gevonden = await self._match(signaal, afzender, trace, buitenland)
            log.info(
                "signal checked",
                extra={
                    "regio": self.ctx.regio,
                    "andere_regio": afzender,
                    "signaal_id": signaal.signaal_id,
                    "soort": soort,
                    "treffers": gevonden,
                },
            )
            return Uitkomst.KLAAR

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
        if signaal.epoch != ctx.federatie.epoch:
            raise Geweigerd("verkeerde_epoch")
        if signaal.soort == F.SIGNAAL_SOORT_ACTIEF:
            if signaal.verloopt_op.ToDatetime(tzinfo=UTC) <= ctx.klok.nu():
                raise Geweigerd("verlopen")
            if not signaal.tokens or any(len(t.token) != 64 for t in signaal.tokens):
                raise Geweigerd("onleesbaar")
        elif signaal.soort != F.SIGNAAL_SOORT_INGETROKKEN:
            raise Geweigerd("onleesbaar")
        return signaal, geopend.afzender

    async def _match(self, signaal: F.Signaal, afzender: str, trace: TraceContext, buitenland: str) -> int:
        """Record a match per own person the signal hits and send each a treffer; returns how many."""
        ctx = self.ctx
        soorten = {t.token: t.sleutel_type for t in signaal.tokens}
        async with ctx.db.transaction() as s:
            treffers = (
                (
                    await s.execute(
                        select(TokenRij).where(
                            TokenRij.token.in_(list(soorten)), TokenRij.epoch == signaal.epoch
                        )
                    )
                )
                .scalars()
                .all()
            )
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
                )
                await ctx.log.vastleggen(
                    s,
                    trace=trace,
                    actor=SYSTEEM,
                    betrokkene_ids=[rijen[0].betrokkene_id],
                    handeling=Handeling(
                        "match_gevonden", ctx.activiteiten.matching, "casus", rijen[0].casus_id
                    ),
                    foreign_operation=buitenland,
                    details={"regio": afzender},
                )
                uit.append((ref, types))
        for ref, types in uit:
            await self._stuur_treffer(signaal, afzender, ref, types, trace)
        return len(uit)

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
    ) -> str | None:
        """The new match's id; None when the pair was already known."""
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
            MATCHES.labels(zeker).inc()
            log.info(
                "match found",
                extra={
                    "regio": self.ctx.regio,
                    "match_id": rij.match_id,
                    "casus_id": casus_id,
                    "andere_regio": regio,
                    "sleutel_types": types,
                    "zekerheid": zeker,
                },
            )
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
