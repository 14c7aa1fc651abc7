"""Retention: personal data of closed casussen goes after the term (moved clock)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, func, select

from gedeeld.verwerkingslog.model import AuditRecord
from gedeeld.zvh.v1 import casus_pb2 as S
from services.casusregister import bewaartermijn
from services.casusregister.store import AanvraagRij, BetrokkeneRij, OutboxRij
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import aanmelding, betrokkene

IC, PR = "ic-carla", "pr-anna"
TERMIJN = timedelta(days=730)


async def gesloten_casus(r: RegisterOpLoopback) -> S.Casus:
    c = (await r.stub.Aanmelden(aanmelding(betrokkene(), betrokkene(bsn="")), metadata=r.als(IC))).casus
    await r.stub.Toewijzen(S.ToewijzenRequest(casus_id=c.casus_id, procesregisseur=PR), metadata=r.als(IC))
    return await r.stub.Afsluiten(
        S.AfsluitenRequest(casus_id=c.casus_id, reden=S.AFSLUIT_REDEN_DOELEN_BEREIKT), metadata=r.als(PR)
    )


async def aantal(r: RegisterOpLoopback, model: type, *where: ColumnElement[bool]) -> int:
    async with r.db.lezen() as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def test_data_stays_until_the_term_has_passed(register: RegisterOpLoopback) -> None:
    await gesloten_casus(register)
    register.klok.verzet(TERMIJN - timedelta(days=1))

    r = await bewaartermijn.uitvoeren(register.service.register, TERMIJN)

    assert r.casussen == 0
    assert await aantal(register, BetrokkeneRij) == 2


async def test_data_is_removed_after_the_term_leaving_an_audit_record(register: RegisterOpLoopback) -> None:
    oud = await gesloten_casus(register)
    register.klok.verzet(timedelta(days=400))
    jong = await gesloten_casus(register)
    actief = (await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))).casus
    register.klok.verzet(timedelta(days=331))  # oud: 731 days closed; jong: 331

    r = await bewaartermijn.uitvoeren(register.service.register, TERMIJN)

    assert (r.casussen, r.betrokkenen) == (1, 2)
    assert await aantal(register, BetrokkeneRij, BetrokkeneRij.casus_id == oud.casus_id) == 0
    assert await aantal(register, BetrokkeneRij, BetrokkeneRij.casus_id == jong.casus_id) == 2
    assert await aantal(register, BetrokkeneRij, BetrokkeneRij.casus_id == actief.casus_id) == 1
    assert await aantal(register, AanvraagRij, AanvraagRij.casus_id == oud.casus_id) == 0
    # No outbox event with identifiers survives for the removed casus.
    async with register.db.lezen() as s:
        rest = list((await s.execute(select(OutboxRij).where(OutboxRij.casus_id == oud.casus_id))).scalars())
    assert [o.subject for o in rest] == ["regio.wvv.casus.gegevens_verwijderd"]
    assert await aantal(register, AuditRecord, AuditRecord.handeling == "bewaartermijn_verwijderen") == 1

    na = await register.stub.Ophalen(S.OphalenRequest(casus_id=oud.casus_id), metadata=register.als(IC))
    assert list(na.betrokkenen) == [] and na.status == S.CASUS_STATUS_AFGESLOTEN
    assert na.wgs_criteria.a_meervoudige_problematiek.toelichting == ""

    again = await bewaartermijn.uitvoeren(register.service.register, TERMIJN)
    assert again.casussen == 0
