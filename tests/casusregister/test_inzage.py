"""Inzage (AVG art. 15) for the FG."""

from __future__ import annotations

import grpc

from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import common_pb2
from tests.casusregister.test_aanmelden import fout
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import BSN_A, BSN_B, aanmelding, betrokkene

IC, FG = "ic-carla", "fg-eva"


async def test_inzage_by_bsn_lists_cases_data_and_processing(register: RegisterOpLoopback) -> None:
    c1 = (await register.stub.Aanmelden(aanmelding(betrokkene()), metadata=register.als(IC))).casus
    c2 = (await register.stub.Aanmelden(aanmelding(betrokkene()), metadata=register.als(IC))).casus
    await register.stub.Aanmelden(
        aanmelding(betrokkene(bsn=BSN_B, achternaam="Anders")), metadata=register.als(IC)
    )
    await register.stub.Ophalen(S.OphalenRequest(casus_id=c1.casus_id), metadata=register.als(IC))

    r = await register.stub.Inzage(
        S.InzageRequest(bsn=BSN_A, verzoek_referentie="AVG-2026-17"), metadata=register.als(FG)
    )

    assert r.aantal_casussen == 2
    assert r.aantal_verwerkingen == 3  # two registrations and one read
    assert c1.casus_id in r.document and c2.casus_id in r.document
    assert "Anders" not in r.document and BSN_B not in r.document
    assert "AVG-2026-17" in r.document and "casus_ophalen" in r.document


async def test_inzage_by_name_ignores_voorvoegsel_spelling(register: RegisterOpLoopback) -> None:
    await register.stub.Aanmelden(
        aanmelding(betrokkene(bsn="", voorvoegsels="van der", achternaam="Berg")), metadata=register.als(IC)
    )
    r = await register.stub.Inzage(
        S.InzageRequest(
            achternaam="Berg, Van der",
            geboortedatum=common_pb2.Datum(jaar=1984, maand=3, dag=5),
            verzoek_referentie="AVG-1",
        ),
        metadata=register.als(FG),
    )
    assert r.aantal_casussen == 1


async def test_inzage_needs_a_reference_and_a_valid_person(register: RegisterOpLoopback) -> None:
    zonder_ref = await fout(register.stub.Inzage(S.InzageRequest(bsn=BSN_A), metadata=register.als(FG)))
    slecht_bsn = await fout(
        register.stub.Inzage(
            S.InzageRequest(bsn="123456789", verzoek_referentie="x"), metadata=register.als(FG)
        )
    )
    assert zonder_ref.code() == slecht_bsn.code() == grpc.StatusCode.INVALID_ARGUMENT
