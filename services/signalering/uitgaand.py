"""The region's own cases: match keys -> tokens -> index -> signed signals; withdrawal on closure.

Each person of an active casus gets one signal with an opaque reference (random,
not derived from identifiers) that stays the same through renewals and
withdrawal. Tokens and signal rows are written in one transaction; the signal
is marked published only after JetStream acknowledged it, so a crash in
between republishes (de-duplicated by Nats-Msg-Id) when the event is redelivered.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import date

from sqlalchemy import delete, func, select, update

from gedeeld.beheer.metrics import PSEUDONIMISERING_MISLUKT, SIGNALEN_GEPUBLICEERD
from gedeeld.beheer.tracing import HEADER, TraceContext, in_trace
from gedeeld.federatie.bericht import onderteken
from gedeeld.fouten import RateLimitedError, UnavailableError, ValidationError
from gedeeld.identiteit import PersoonsGegevens, leid_matchsleutels
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import Uitkomst
from gedeeld.verwerkingslog import Handeling
from gedeeld.zvh.v1 import casus_pb2, gebeurtenis_pb2
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.context import SYSTEEM, Context
from services.signalering.store import EigenSignaalRij, MatchRij, TokenRij, meld_referentie, sluit_matches

log = logging.getLogger("zvh.signalering")

ACTIEF = {casus_pb2.CASUS_STATUS_AANGEMELD, casus_pb2.CASUS_STATUS_IN_BEHANDELING}


def persoon(b: casus_pb2.Betrokkene) -> PersoonsGegevens:
    g = b.geboortedatum
    achternaam = f"{b.voorvoegsels} {b.achternaam}".strip()
    return PersoonsGegevens(b.bsn or None, achternaam, b.voornamen, date(g.jaar, g.maand, g.dag))


class Uitgaand:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def bij_gebeurtenis(self, g: gebeurtenis_pb2.CasusGebeurtenis, trace: TraceContext) -> Uitkomst:
        return (await self.bij_gebeurtenissen([(g, trace)]))[0]

    async def bij_gebeurtenissen(
        self, gebeurtenissen: list[tuple[gebeurtenis_pb2.CasusGebeurtenis, TraceContext]]
    ) -> list[Uitkomst]:
        """In order; consecutive registrations share one OPRF request and one transaction."""
        uitkomsten: list[Uitkomst] = []
        groep: list[tuple[casus_pb2.Casus, TraceContext]] = []

        async def sluit_groep() -> None:
            if groep:
                uitkomst = await self.signaleer_veel(groep)
                uitkomsten.extend([uitkomst] * len(groep))
                groep.clear()

        for g, trace in gebeurtenissen:
            if g.casus.status in ACTIEF and g.casus.betrokkenen:
                groep.append((g.casus, trace))
                continue
            await sluit_groep()
            if (
                g.casus.status not in ACTIEF
                or g.soort == gebeurtenis_pb2.GEBEURTENIS_SOORT_GEGEVENS_VERWIJDERD
            ):
                await self.trek_in(g.casus.casus_id, trace)
            uitkomsten.append(Uitkomst.KLAAR)
        await sluit_groep()
        return uitkomsten

    async def signaleer(self, casus: casus_pb2.Casus, trace: TraceContext) -> Uitkomst:
        return await self.signaleer_veel([(casus, trace)])

    async def signaleer_veel(self, casussen: list[tuple[casus_pb2.Casus, TraceContext]]) -> Uitkomst:
        ctx = self.ctx
        ids = list({c.casus_id for c, _ in casussen})
        bediend = frozenset(ctx.pseudonimiseerders)
        async with ctx.db.lezen() as s:
            rijen = {
                (r.casus_id, r.betrokkene_id): r
                for r in (
                    await s.execute(select(EigenSignaalRij).where(EigenSignaalRij.casus_id.in_(ids)))
                ).scalars()
            }
            # The epochs each person has tokens of: while the federation switches keys, a person
            # signalled before the switch still needs the new epoch's tokens.
            heeft: dict[tuple[str, str], set[int]] = {}
            for casus_id, betrokkene_id, epoch in (
                await s.execute(
                    select(TokenRij.casus_id, TokenRij.betrokkene_id, TokenRij.epoch)
                    .where(TokenRij.casus_id.in_(ids))
                    .distinct()
                )
            ).all():
                heeft.setdefault((casus_id, betrokkene_id), set()).add(epoch)
        nieuw: list[tuple[str, list[tuple[casus_pb2.Betrokkene, frozenset[int]]], TraceContext]] = []
        gezien: set[tuple[str, str]] = set()
        for casus, trace in casussen:
            personen = []
            for b in casus.betrokkenen:
                sleutel = (casus.casus_id, b.betrokkene_id)
                rij = rijen.get(sleutel)
                if sleutel in gezien or (rij is not None and rij.ingetrokken):
                    continue
                gezien.add(sleutel)
                nodig = bediend - heeft.get(sleutel, set())
                if nodig:
                    personen.append((b, nodig))
            if personen:
                nieuw.append((casus.casus_id, personen, trace))
        mislukt: dict[int, str] = {}
        if nieuw:
            try:
                mislukt = await self._indexeer(nieuw, {k: r.referentie for k, r in rijen.items()})
            except RateLimitedError as exc:
                # Over this region's cap at the holders: the event waits (redelivered later), lost nothing.
                PSEUDONIMISERING_MISLUKT.inc()
                log.warning(
                    "pseudonymisation refused by the key-share holders' limits; event will be retried",
                    extra={"error": exc.message, "retry_after": round(exc.retry_after)},
                )
                return Uitkomst.OPNIEUW
        # Each casus' signals continue the trace of the event that caused them. While keys switch,
        # a signal under the epoch that worked goes out now; the other epoch follows on a retry.
        await self.publiceer_open({casus.casus_id: trace for casus, trace in casussen})
        if mislukt:
            PSEUDONIMISERING_MISLUKT.inc()
            log.warning(
                "pseudonymisation unavailable; event will be retried",
                extra={"epochs": sorted(mislukt), "error": "; ".join(mislukt.values())},
            )
            return Uitkomst.OPNIEUW
        return Uitkomst.KLAAR

    async def _indexeer(
        self,
        casussen: list[tuple[str, list[tuple[casus_pb2.Betrokkene, frozenset[int]]], TraceContext]],
        bestaand: Mapping[tuple[str, str], str],
    ) -> dict[int, str]:
        """Tokens of the persons under the epochs they lack; a person signalled before keeps its
        reference (so a match made under one epoch is the same match under the other). Returns
        the epochs whose share holders could not be had (until t regions serve a new epoch)."""
        ctx = self.ctx
        sleutels: list[tuple[str, casus_pb2.Betrokkene, frozenset[int], str, bytes]] = []
        for casus_id, personen, trace in casussen:
            for b, nodig in personen:
                try:
                    sleutels += [
                        (casus_id, b, nodig, m.type.value, m.waarde) for m in leid_matchsleutels(persoon(b))
                    ]
                except ValidationError:
                    # Registered data the key rules cannot use (e.g. no letters in the name): no signal.
                    with in_trace(trace):
                        log.warning(
                            "betrokkene has no usable match keys",
                            extra={"casus_id": casus_id, "betrokkene_id": b.betrokkene_id},
                        )
        if not sleutels:
            return {}
        per_epoch: dict[int, list[int]] = {}
        for i, (_, _, nodig, _, _) in enumerate(sleutels):
            for epoch in nodig:
                per_epoch.setdefault(epoch, []).append(i)
        tokens: dict[int, list[bytes]] = {}
        mislukt: dict[int, str] = {}
        # One casus: the key-share holders' audit records join its trace; a batch has many traces.
        with in_trace(casussen[0][2] if len(casussen) == 1 else None):
            for epoch, idx in per_epoch.items():
                try:
                    tokens[epoch] = await ctx.pseudonimiseerders[epoch].tokens([sleutels[i][4] for i in idx])
                except UnavailableError as exc:
                    mislukt[epoch] = exc.message
        per_epoch = {e: idx for e, idx in per_epoch.items() if e in tokens}
        if not per_epoch:
            return mislukt
        aantal: dict[str, int] = {}  # tokens per casus
        for idx in per_epoch.values():
            for i in idx:
                aantal[sleutels[i][0]] = aantal.get(sleutels[i][0], 0) + 1
        nu = ctx.klok.nu()
        traces = {casus_id: trace for casus_id, _, trace in casussen}
        async with ctx.db.transaction() as s:
            referenties: dict[tuple[str, str], str] = {}
            for epoch, idx in per_epoch.items():
                for i, token in zip(idx, tokens[epoch], strict=True):
                    casus_id, b, _, type_, _ = sleutels[i]
                    k = (casus_id, b.betrokkene_id)
                    ref = referenties.setdefault(k, bestaand.get(k) or uuid.uuid4().hex)
                    s.add(
                        TokenRij(
                            token=token,
                            epoch=epoch,
                            sleutel_type=type_,
                            casus_id=casus_id,
                            betrokkene_id=b.betrokkene_id,
                            referentie=ref,
                        )
                    )
            for (casus_id, betrokkene_id), ref in referenties.items():
                if (casus_id, betrokkene_id) in bestaand:
                    # Signal again, with the tokens of every epoch, under a new id (JetStream would
                    # drop a repeated one); receivers already know the reference.
                    await s.execute(
                        update(EigenSignaalRij)
                        .where(EigenSignaalRij.referentie == ref)
                        .values(signaal_id=str(uuid.uuid4()), epoch=ctx.federatie.epoch, gepubliceerd=False)
                    )
                    continue
                rij = EigenSignaalRij(
                    referentie=ref,
                    signaal_id=str(uuid.uuid4()),
                    casus_id=casus_id,
                    betrokkene_id=betrokkene_id,
                    epoch=ctx.federatie.epoch,
                    verloopt_op=nu + ctx.geldigheid,
                    ingetrokken=False,
                    gepubliceerd=False,
                    gemeld=True,
                )
                s.add(rij)
                with in_trace(traces.get(casus_id)):
                    await meld_referentie(s, ctx, rij)
            for casus_id, _, trace in casussen:
                eigen = [bid for (cid, bid) in referenties if cid == casus_id]
                if not eigen:
                    continue
                await ctx.log.vastleggen(
                    s,
                    trace=trace,
                    actor=SYSTEEM,
                    betrokkene_ids=eigen,
                    handeling=Handeling(
                        "signaal_pseudonimiseren", ctx.activiteiten.pseudonimisering, "casus", casus_id
                    ),
                    details={
                        "tokens": sum(
                            1 for idx in per_epoch.values() for i in idx if sleutels[i][0] == casus_id
                        )
                    },
                )
        for casus_id, _, trace in casussen:
            with in_trace(trace):
                log.info(
                    "casus indexed",
                    extra={
                        "regio": ctx.regio,
                        "casus_id": casus_id,
                        "tokens": aantal.get(casus_id, 0),
                    },
                )
        await ctx.index.gewijzigd()
        return mislukt

    async def ruim_epochs_op(self) -> int:
        """Drop tokens of epochs this node no longer serves; returns how many own persons still
        lack tokens of the newest epoch (re-pseudonymisation pending)."""
        ctx = self.ctx
        async with ctx.db.transaction() as s:
            await s.execute(delete(TokenRij).where(TokenRij.epoch.not_in(list(ctx.pseudonimiseerders))))
            met = select(TokenRij.referentie).where(TokenRij.epoch == ctx.federatie.epoch)
            open_ = (
                await s.execute(
                    select(func.count())
                    .select_from(EigenSignaalRij)
                    .where(EigenSignaalRij.ingetrokken.is_(False), EigenSignaalRij.referentie.not_in(met))
                )
            ).scalar_one()
        return int(open_)

    async def publiceer_open(self, traces: Mapping[str, TraceContext] | None = None) -> int:
        """Publish every own signal not yet acknowledged (also after a crash).

        ``traces`` (casus_id -> span of the event being handled): a signal of such a casus is
        published in a child span of it; others (renewals, leftovers of a crash) in a new trace."""
        traces = traces or {}
        ctx = self.ctx
        async with ctx.db.lezen() as s:
            open_ = list(
                (
                    await s.execute(
                        select(EigenSignaalRij).where(
                            EigenSignaalRij.gepubliceerd.is_(False), EigenSignaalRij.ingetrokken.is_(False)
                        )
                    )
                ).scalars()
            )
            tokens: dict[str, list[TokenRij]] = {}
            if open_:
                rows = (
                    await s.execute(
                        select(TokenRij).where(TokenRij.referentie.in_([r.referentie for r in open_]))
                    )
                ).scalars()
                for t in rows:
                    tokens.setdefault(t.referentie, []).append(t)
        # Publish all, then mark all in one transaction: a crash in between republishes, and
        # JetStream drops the repeats (Nats-Msg-Id = signal id).
        gepubliceerd = []
        try:
            for r in open_:
                await self._publiceer(
                    r,
                    F.SIGNAAL_SOORT_ACTIEF,
                    tokens.get(r.referentie, []),
                    r.signaal_id,
                    traces.get(r.casus_id),
                )
                gepubliceerd.append(r.referentie)
        finally:
            if gepubliceerd:
                async with ctx.db.transaction() as s:
                    await s.execute(
                        update(EigenSignaalRij)
                        .where(EigenSignaalRij.referentie.in_(gepubliceerd))
                        .values(gepubliceerd=True)
                    )
        return len(open_)

    async def _publiceer(
        self,
        r: EigenSignaalRij,
        soort: int,
        tokens: list[TokenRij],
        msg_id: str,
        trace: TraceContext | None,
    ) -> None:
        ctx = self.ctx
        span = trace.child() if trace is not None else TraceContext.new()
        signaal = F.Signaal(
            signaal_id=r.signaal_id,
            regio=ctx.regio,
            epoch=r.epoch,
            referentie=r.referentie,
            tokens=[
                F.SignaalToken(sleutel_type=t.sleutel_type, token=t.token, epoch=t.epoch) for t in tokens
            ],
            soort=soort,  # type: ignore[arg-type]
        )
        signaal.verloopt_op.FromDatetime(r.verloopt_op)
        signaal.tijdstip.FromDatetime(ctx.klok.nu())
        data = onderteken(ctx.sleutels.ondertekening, ctx.regio, "signaal", signaal.SerializeToString())
        naam = F.SignaalSoort.Name(soort).removeprefix("SIGNAAL_SOORT_").lower()  # type: ignore[arg-type]
        with in_trace(span):
            await ctx.js.publish(
                onderwerpen.signaal(ctx.regio),
                data,
                headers={"Nats-Msg-Id": msg_id, HEADER: span.traceparent},
            )
            SIGNALEN_GEPUBLICEERD.labels(naam).inc()
            log.info(
                "signal published",
                extra={
                    "regio": ctx.regio,
                    "casus_id": r.casus_id,
                    "signaal_id": r.signaal_id,
                    "soort": naam,
                    "sleutel_types": sorted({t.sleutel_type for t in tokens}),
                },
            )

    async def trek_in(self, casus_id: str, trace: TraceContext) -> None:
        """Tokens leave the index at once; withdrawals tell the others; own matches close."""
        ctx = self.ctx
        async with ctx.db.transaction() as s:
            signalen = list(
                (
                    await s.execute(
                        select(EigenSignaalRij).where(
                            EigenSignaalRij.casus_id == casus_id, EigenSignaalRij.ingetrokken.is_(False)
                        )
                    )
                ).scalars()
            )
            await s.execute(delete(TokenRij).where(TokenRij.casus_id == casus_id))
            await s.execute(
                update(EigenSignaalRij).where(EigenSignaalRij.casus_id == casus_id).values(ingetrokken=True)
            )
            await sluit_matches(s, ctx, MatchRij.eigen_casus_id == casus_id)
            if signalen:
                await ctx.log.vastleggen(
                    s,
                    trace=trace,
                    actor=SYSTEEM,
                    betrokkene_ids=[r.betrokkene_id for r in signalen],
                    handeling=Handeling(
                        "signaal_intrekken", ctx.activiteiten.pseudonimisering, "casus", casus_id
                    ),
                )
        for r in signalen:
            await self._publiceer(r, F.SIGNAAL_SOORT_INGETROKKEN, [], f"{r.signaal_id}:ingetrokken", trace)
