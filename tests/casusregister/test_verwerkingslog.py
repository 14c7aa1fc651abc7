"""The processing log: one LDV record per data subject, trace context, tamper evidence."""

from __future__ import annotations

from sqlalchemy import delete, select, text, update

from gedeeld.verwerkingslog import verifieer
from gedeeld.verwerkingslog.model import AuditRecord, Verwerking
from gedeeld.zvh.v1 import casus_pb2 as S
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import aanmelding, betrokkene

IC = "ic-carla"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


async def records(r: RegisterOpLoopback) -> tuple[list[Verwerking], list[AuditRecord]]:
    async with r.db.lezen() as s:
        v = list((await s.execute(select(Verwerking).order_by(Verwerking.seq))).scalars())
        a = list((await s.execute(select(AuditRecord).order_by(AuditRecord.seq))).scalars())
    return v, a


async def test_one_ldv_record_per_betrokkene_with_callers_trace(register: RegisterOpLoopback) -> None:
    md = (*register.als(IC), ("traceparent", TRACEPARENT))
    resp = await register.stub.Aanmelden(aanmelding(betrokkene(), betrokkene(bsn="")), metadata=md)

    ldv, audit = await records(register)
    assert len(audit) == 1 and len(ldv) == 2
    assert {v.trace_id for v in ldv} == {TRACE}
    assert {v.parent_span_id for v in ldv} == {"00f067aa0ba902b7"}
    assert all(v.audit_seq == audit[0].seq for v in ldv)
    assert audit[0].actor == IC and audit[0].rol == "informatiecoordinator"
    assert audit[0].object_id == resp.casus.casus_id
    ids = {b.betrokkene_id for b in resp.casus.betrokkenen}
    # Pseudonymised: neither the betrokkene id nor any identifier appears in the LDV row.
    assert {v.data_subject_id for v in ldv}.isdisjoint(ids)
    assert len({v.data_subject_id for v in ldv}) == 2
    assert all(v.processing_activity_id == "urn:zvh:wvv:verwerkingsactiviteit:casusregistratie" for v in ldv)


async def test_reads_are_logged_and_answer_carries_traceparent(register: RegisterOpLoopback) -> None:
    c = (await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))).casus
    call = register.stub.Ophalen(S.OphalenRequest(casus_id=c.casus_id), metadata=register.als(IC))
    await call
    traceparent = dict(await call.trailing_metadata())["traceparent"]
    assert isinstance(traceparent, str), traceparent  # an ASCII header: bytes only for "-bin" keys

    ldv, _ = await records(register)
    assert [v.naam for v in ldv] == ["casus_aanmelden", "casus_ophalen"]
    assert traceparent.split("-")[1] == ldv[-1].trace_id


async def keten_met_vijf(register: RegisterOpLoopback) -> None:
    for _ in range(5):
        await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))


async def test_intact_chain_verifies(register: RegisterOpLoopback) -> None:
    await keten_met_vijf(register)
    async with register.db.lezen() as s:
        assert await verifieer(s, "verwerking") is None
        assert await verifieer(s, "audit") is None


async def test_edited_row_is_detected_at_that_row(register: RegisterOpLoopback) -> None:
    await keten_met_vijf(register)
    async with register.db.transaction() as s:
        await s.execute(update(Verwerking).where(Verwerking.seq == 3).values(naam="iets_anders"))

    async with register.db.lezen() as s:
        breuk = await verifieer(s, "verwerking")
    assert breuk is not None and breuk.seq == 3 and "gewijzigd" in breuk.reden


async def test_deleted_row_is_detected(register: RegisterOpLoopback) -> None:
    await keten_met_vijf(register)
    async with register.db.transaction() as s:
        await s.execute(text("DELETE FROM ldv_verwerking WHERE seq = 2"))

    async with register.db.lezen() as s:
        breuk = await verifieer(s, "verwerking")
    assert breuk is not None and breuk.seq == 2 and "ontbreekt" in breuk.reden


async def test_truncated_tail_is_detected(register: RegisterOpLoopback) -> None:
    await keten_met_vijf(register)
    async with register.db.transaction() as s:
        await s.execute(delete(Verwerking).where(Verwerking.seq == 5))

    async with register.db.lezen() as s:
        breuk = await verifieer(s, "verwerking")
    assert breuk is not None and breuk.seq == 5


async def test_rewritten_hash_is_detected_at_the_next_row(register: RegisterOpLoopback) -> None:
    """An editor who also recomputes the edited row's own hash breaks the next link."""
    from gedeeld.verwerkingslog.keten import inhoud_hash

    await keten_met_vijf(register)
    async with register.db.transaction() as s:
        rij = (await s.execute(select(AuditRecord).where(AuditRecord.seq == 2))).scalar_one()
        rij.actor = "iemand-anders"
        rij.hash = inhoud_hash(rij, rij.prev_hash)

    async with register.db.lezen() as s:
        breuk = await verifieer(s, "audit")
    assert breuk is not None and breuk.seq == 3
