"""Status changes, assignment, TopX and closing, over gRPC."""

from __future__ import annotations

import grpc
import pytest

from gedeeld.zvh.v1 import casus_pb2 as S
from tests.casusregister.test_aanmelden import fout
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import aanmelding

IC, PR, PR2, NM = "ic-carla", "pr-anna", "pr-bram", "nm-dirk"


async def nieuwe_casus(r: RegisterOpLoopback, procesregisseur: str = PR) -> S.Casus:
    c = (await r.stub.Aanmelden(aanmelding(), metadata=r.als(IC))).casus
    return await r.stub.Toewijzen(
        S.ToewijzenRequest(casus_id=c.casus_id, procesregisseur=procesregisseur), metadata=r.als(IC)
    )


async def naar(
    r: RegisterOpLoopback, c: S.Casus, status: S.CasusStatus.ValueType, wie: str = PR, toelichting: str = ""
) -> S.Casus:
    return await r.stub.StatusWijzigen(
        S.StatusWijzigenRequest(casus_id=c.casus_id, nieuwe_status=status, toelichting=toelichting),
        metadata=r.als(wie),
    )


async def test_full_lifecycle_raises_version_each_step(register: RegisterOpLoopback) -> None:
    c = await nieuwe_casus(register)
    assert c.procesregisseur == PR and c.versie == 2

    c = await naar(register, c, S.CASUS_STATUS_IN_BEHANDELING)
    c = await register.stub.TopXMarkeren(
        S.TopXMarkerenRequest(casus_id=c.casus_id, topx=True), metadata=register.als(PR)
    )
    c = await naar(register, c, S.CASUS_STATUS_AFGESCHAALD, toelichting="terug naar het reguliere veld")

    assert c.status == S.CASUS_STATUS_AFGESCHAALD and c.topx and c.versie == 5
    assert c.HasField("afgesloten_op") and c.status_toelichting == "terug naar het reguliere veld"


@pytest.mark.parametrize(
    ("pad", "verboden"),
    [
        ([], S.CASUS_STATUS_AFGESCHAALD),  # AANGEMELD cannot be scaled down before handling
        ([], S.CASUS_STATUS_AANGEMELD),
        ([S.CASUS_STATUS_IN_BEHANDELING], S.CASUS_STATUS_AANGEMELD),
        ([S.CASUS_STATUS_IN_BEHANDELING, S.CASUS_STATUS_AFGESCHAALD], S.CASUS_STATUS_IN_BEHANDELING),
    ],
)
async def test_illegal_transition_is_failed_precondition(
    register: RegisterOpLoopback, pad: list[S.CasusStatus.ValueType], verboden: S.CasusStatus.ValueType
) -> None:
    c = await nieuwe_casus(register)
    for stap in pad:
        c = await naar(register, c, stap, toelichting="t")

    e = await fout(naar(register, c, verboden, toelichting="t"))

    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "niet toegestaan" in (e.details() or "")
    na = await register.stub.Ophalen(S.OphalenRequest(casus_id=c.casus_id), metadata=register.als(PR))
    assert na.status == c.status and na.versie == c.versie


async def test_afsluiten_from_aangemeld_with_reason(register: RegisterOpLoopback) -> None:
    c = await nieuwe_casus(register)
    c = await register.stub.Afsluiten(
        S.AfsluitenRequest(casus_id=c.casus_id, reden=S.AFSLUIT_REDEN_NIET_OPGEPAKT),
        metadata=register.als(PR),
    )
    assert c.status == S.CASUS_STATUS_AFGESLOTEN and c.afsluit_reden == S.AFSLUIT_REDEN_NIET_OPGEPAKT

    e = await fout(
        register.stub.Afsluiten(
            S.AfsluitenRequest(casus_id=c.casus_id, reden=S.AFSLUIT_REDEN_DOELEN_BEREIKT),
            metadata=register.als(PR),
        )
    )
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_afsluiten_needs_reason_and_toelichting_for_anders(register: RegisterOpLoopback) -> None:
    c = await nieuwe_casus(register)
    zonder = await fout(
        register.stub.Afsluiten(S.AfsluitenRequest(casus_id=c.casus_id), metadata=register.als(PR))
    )
    anders = await fout(
        register.stub.Afsluiten(
            S.AfsluitenRequest(casus_id=c.casus_id, reden=S.AFSLUIT_REDEN_ANDERS), metadata=register.als(PR)
        )
    )
    assert zonder.code() == anders.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_only_the_assigned_procesregisseur_may_change_the_casus(register: RegisterOpLoopback) -> None:
    c = await nieuwe_casus(register, procesregisseur=PR)

    e = await fout(naar(register, c, S.CASUS_STATUS_IN_BEHANDELING, wie=PR2))
    assert e.code() == grpc.StatusCode.PERMISSION_DENIED

    c = await naar(register, c, S.CASUS_STATUS_IN_BEHANDELING, wie=NM)  # the netwerkmanager may
    assert c.status == S.CASUS_STATUS_IN_BEHANDELING


async def test_stale_version_is_aborted(register: RegisterOpLoopback) -> None:
    c = await nieuwe_casus(register)
    await register.stub.Toewijzen(
        S.ToewijzenRequest(casus_id=c.casus_id, procesregisseur=PR2), metadata=register.als(NM)
    )

    e = await fout(
        register.stub.Toewijzen(
            S.ToewijzenRequest(casus_id=c.casus_id, procesregisseur=PR, verwachte_versie=c.versie),
            metadata=register.als(NM),
        )
    )
    assert e.code() == grpc.StatusCode.ABORTED


async def test_unknown_casus_is_not_found_and_malformed_id_invalid(register: RegisterOpLoopback) -> None:
    onbekend = await fout(
        register.stub.Ophalen(
            S.OphalenRequest(casus_id="00000000-0000-4000-8000-000000000000"), metadata=register.als(PR)
        )
    )
    kapot = await fout(register.stub.Ophalen(S.OphalenRequest(casus_id="../etc"), metadata=register.als(PR)))
    assert onbekend.code() == grpc.StatusCode.NOT_FOUND
    assert kapot.code() == grpc.StatusCode.INVALID_ARGUMENT
