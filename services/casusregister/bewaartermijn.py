"""Bewaartermijn: remove the personal data of casussen closed longer ago than the term.

What stays is the casus skeleton (status, dates, theme) and the processing log,
which holds pseudonyms only; an audit record tells what was removed. Published
outbox events (which carry identifiers) are removed after ``outbox_bewaren``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from gedeeld.beheer.tracing import TraceContext
from gedeeld.verwerkingslog import Actor, Handeling
from gedeeld.zvh.v1 import gebeurtenis_pb2
from services.casusregister.casussen import Register
from services.casusregister.store import AanvraagRij, CasusRij, OutboxRij

SYSTEEM = Actor("systeem", "systeem", "bewaartermijn (privacyprotocol)")


@dataclass(frozen=True)
class Resultaat:
    casussen: int
    betrokkenen: int
    outbox_opgeschoond: int


async def uitvoeren(
    register: Register, termijn: timedelta, outbox_bewaren: timedelta = timedelta(days=7)
) -> Resultaat:
    nu = register.klok.nu()
    grens = nu - termijn
    trace = TraceContext.new()
    casussen = betrokkenen = 0
    async with register.db.transaction() as s:
        verlopen = (
            (
                await s.execute(
                    select(CasusRij)
                    .where(CasusRij.afgesloten_op < grens, CasusRij.gegevens_verwijderd_op.is_(None))
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        for rij in verlopen:
            ids = [b.betrokkene_id for b in rij.betrokkenen]
            await register.log.vastleggen(
                s,
                trace=trace,
                handeling=Handeling(
                    "bewaartermijn_verwijderen", register.activiteiten.bewaartermijn, "casus", rij.casus_id
                ),
                actor=SYSTEEM,
                betrokkene_ids=ids,
                details={"betrokkenen": len(ids), "termijn_dagen": termijn.days},
            )
            rij.betrokkenen.clear()
            criteria = {k: [v[0], ""] for k, v in json.loads(rij.criteria).items()}
            rij.criteria = json.dumps(criteria)
            rij.status_toelichting = ""
            rij.gegevens_verwijderd_op = nu
            rij.versie += 1
            rij.gewijzigd_op = nu
            await s.execute(delete(AanvraagRij).where(AanvraagRij.casus_id == rij.casus_id))
            await s.execute(delete(OutboxRij).where(OutboxRij.casus_id == rij.casus_id))
            await s.flush()
            await register.outbox(
                s, rij, gebeurtenis_pb2.GEBEURTENIS_SOORT_GEGEVENS_VERWIJDERD, trace.traceparent
            )
            casussen += 1
            betrokkenen += len(ids)
        opgeschoond = (
            await s.execute(delete(OutboxRij).where(OutboxRij.gepubliceerd_op < nu - outbox_bewaren))
        ).rowcount  # type: ignore[attr-defined]
    return Resultaat(casussen, betrokkenen, int(opgeschoond or 0))
