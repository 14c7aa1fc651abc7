"""Aanmelden over real gRPC on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest
from sqlalchemy import func, select

from gedeeld.grpc.status import field_violations
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import common_pb2
from services.casusregister.store import BetrokkeneRij, CasusRij, OutboxRij
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import BSN_A, BSN_B, aanmelding, betrokkene, criterium

IC = "ic-carla"


async def tel(r: RegisterOpLoopback, model: type) -> int:
    async with r.db.lezen() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def fout(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_aanmelden_stores_casus_with_all_betrokkenen(register: RegisterOpLoopback) -> None:
    req = aanmelding(
        betrokkene(),
        betrokkene(bsn="", voornamen="Els", voorvoegsels="", achternaam="de Vries", geboren=(2010, 12, 1)),
    )
    resp = await register.stub.Aanmelden(req, metadata=register.als(IC))

    c = resp.casus
    assert not resp.herhaald
    assert c.regio == "wvv" and c.status == S.CASUS_STATUS_AANGEMELD and c.versie == 1
    assert [b.achternaam for b in c.betrokkenen] == ["Berg", "de Vries"]
    assert c.betrokkenen[0].bsn == BSN_A and c.betrokkenen[1].bsn == ""
    assert len({b.betrokkene_id for b in c.betrokkenen}) == 2
    opgehaald = await register.stub.Ophalen(S.OphalenRequest(casus_id=c.casus_id), metadata=register.als(IC))
    assert opgehaald == c


async def test_same_request_id_is_idempotent(register: RegisterOpLoopback) -> None:
    req = aanmelding(request_id="pgax:2026:0001")
    eerste = await register.stub.Aanmelden(req, metadata=register.als(IC))
    tweede = await register.stub.Aanmelden(req, metadata=register.als(IC))

    assert tweede.herhaald and tweede.casus.casus_id == eerste.casus.casus_id
    assert await tel(register, CasusRij) == 1
    assert await tel(register, OutboxRij) == 1


async def test_reused_request_id_with_other_content_is_already_exists(register: RegisterOpLoopback) -> None:
    await register.stub.Aanmelden(aanmelding(request_id="r-1"), metadata=register.als(IC))
    anders = aanmelding(betrokkene(bsn=BSN_B), request_id="r-1")

    e = await fout(register.stub.Aanmelden(anders, metadata=register.als(IC)))

    assert e.code() == grpc.StatusCode.ALREADY_EXISTS
    assert await tel(register, CasusRij) == 1


async def test_unmet_wgs_criterion_is_failed_precondition_naming_it(register: RegisterOpLoopback) -> None:
    req = aanmelding()
    req.wgs_criteria.b_regulier_onvoldoende.CopyFrom(criterium(False))
    req.wgs_criteria.d_verwerking_noodzakelijk.CopyFrom(criterium(False))

    e = await fout(register.stub.Aanmelden(req, metadata=register.als(IC)))

    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "b (reguliere aanpak onvoldoende)" in (e.details() or "")
    assert "d (verwerking noodzakelijk)" in (e.details() or "")
    assert "a (meervoudige" not in (e.details() or "")
    assert await tel(register, CasusRij) == 0


@pytest.mark.parametrize(
    ("wijzig", "veld"),
    [
        (lambda r: r.betrokkenen[0].__setattr__("bsn", "123456789"), "betrokkenen[0].bsn"),
        (lambda r: r.betrokkenen[0].__setattr__("bsn", "12345"), "betrokkenen[0].bsn"),
        (lambda r: r.betrokkenen[0].__setattr__("achternaam", ""), "betrokkenen[0].achternaam"),
        (lambda r: r.betrokkenen[0].__setattr__("voornamen", "x" * 201), "betrokkenen[0].voornamen"),
        (
            lambda r: r.betrokkenen[0].geboortedatum.CopyFrom(common_pb2.Datum(jaar=2026, maand=2, dag=30)),
            "betrokkenen[0].geboortedatum",
        ),
        (
            lambda r: r.betrokkenen[0].geboortedatum.CopyFrom(common_pb2.Datum(jaar=1890, maand=1, dag=1)),
            "betrokkenen[0].geboortedatum",
        ),
        (
            lambda r: r.betrokkenen[0].geboortedatum.CopyFrom(common_pb2.Datum(jaar=2030, maand=1, dag=1)),
            "betrokkenen[0].geboortedatum",
        ),
        (lambda r: r.betrokkenen[0].__setattr__("betrokkene_id", "zelf"), "betrokkenen[0].betrokkene_id"),
        (lambda r: r.__setattr__("request_id", ""), "request_id"),
        (lambda r: r.__setattr__("request_id", "met spatie"), "request_id"),
        (lambda r: r.__setattr__("thema", 0), "thema"),
        (lambda r: r.__setattr__("thema", 99), "thema"),
        (lambda r: r.aanmelder.__setattr__("type", S.AANMELDER_TYPE_INCIDENTEEL), "aanmelder.organisatie"),
        (
            lambda r: r.wgs_criteria.a_meervoudige_problematiek.__setattr__("toelichting", ""),
            "wgs_criteria.a_meervoudige_problematiek.toelichting",
        ),
        (
            lambda r: r.wgs_criteria.c_gezamenlijke_aanpak.__setattr__("toelichting", "x" * 501),
            "wgs_criteria.c_gezamenlijke_aanpak.toelichting",
        ),
        (lambda r: r.ClearField("betrokkenen"), "betrokkenen"),
        (lambda r: r.betrokkenen.extend([betrokkene()] * 20), "betrokkenen"),
    ],
)
async def test_invalid_field_is_invalid_argument_with_field_violation(
    register: RegisterOpLoopback, wijzig: Callable[[S.AanmeldenRequest], object], veld: str
) -> None:
    req = aanmelding()
    wijzig(req)

    e = await fout(register.stub.Aanmelden(req, metadata=register.als(IC)))

    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert veld in [f for f, _ in field_violations(e.trailing_metadata())]
    assert await tel(register, CasusRij) == 0 and await tel(register, BetrokkeneRij) == 0


async def test_all_violations_are_reported_at_once_without_echoing_the_bsn(
    register: RegisterOpLoopback,
) -> None:
    req = aanmelding(betrokkene(bsn="123456789", achternaam=""))
    req.thema = S.THEMA_ONBEKEND  # 0: not set

    e = await fout(register.stub.Aanmelden(req, metadata=register.als(IC)))

    velden = {f for f, _ in field_violations(e.trailing_metadata())}
    assert velden == {"thema", "betrokkenen[0].bsn", "betrokkenen[0].achternaam"}
    assert "123456789" not in (e.details() or "")


async def test_bsn_with_separators_is_stored_normalised(register: RegisterOpLoopback) -> None:
    resp = await register.stub.Aanmelden(aanmelding(betrokkene(bsn="1112.22.333")), metadata=register.als(IC))
    assert resp.casus.betrokkenen[0].bsn == BSN_A
