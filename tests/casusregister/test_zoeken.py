"""Zoeken: filters and page tokens."""

from __future__ import annotations

from datetime import timedelta

import grpc

from gedeeld.zvh.v1 import casus_pb2 as S
from tests.casusregister.test_aanmelden import fout
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import aanmelding

IC = "ic-carla"


async def test_pages_walk_every_casus_once_in_registration_order(register: RegisterOpLoopback) -> None:
    ids = []
    for _ in range(7):
        register.klok.verzet(timedelta(minutes=1))
        ids.append((await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))).casus.casus_id)

    gezien, token, paginas = [], "", 0
    while True:
        resp = await register.stub.Zoeken(
            S.ZoekenRequest(page_size=3, page_token=token), metadata=register.als(IC)
        )
        gezien += [c.casus_id for c in resp.casussen]
        paginas += 1
        token = resp.next_page_token
        if not token:
            break

    assert gezien == ids and paginas == 3


async def test_filters_combine(register: RegisterOpLoopback) -> None:
    a = (await register.stub.Aanmelden(aanmelding(thema=S.THEMA_JEUGD), metadata=register.als(IC))).casus
    await register.stub.Aanmelden(aanmelding(thema=S.THEMA_JEUGD), metadata=register.als(IC))
    await register.stub.Aanmelden(aanmelding(thema=S.THEMA_RADICALISERING), metadata=register.als(IC))
    await register.stub.Toewijzen(
        S.ToewijzenRequest(casus_id=a.casus_id, procesregisseur="pr-anna"), metadata=register.als(IC)
    )
    await register.stub.TopXMarkeren(
        S.TopXMarkerenRequest(casus_id=a.casus_id, topx=True), metadata=register.als("pr-anna")
    )

    jeugd = await register.stub.Zoeken(S.ZoekenRequest(thema=S.THEMA_JEUGD), metadata=register.als(IC))
    van_anna = await register.stub.Zoeken(
        S.ZoekenRequest(procesregisseur="pr-anna"), metadata=register.als(IC)
    )
    topx = await register.stub.Zoeken(S.ZoekenRequest(topx=True), metadata=register.als(IC))
    geen_topx = await register.stub.Zoeken(S.ZoekenRequest(topx=False), metadata=register.als(IC))
    afgesloten = await register.stub.Zoeken(
        S.ZoekenRequest(status=[S.CASUS_STATUS_AFGESLOTEN]), metadata=register.als(IC)
    )

    assert len(jeugd.casussen) == 2
    assert [c.casus_id for c in van_anna.casussen] == [a.casus_id]
    assert [c.casus_id for c in topx.casussen] == [a.casus_id]
    assert len(geen_topx.casussen) == 2
    assert list(afgesloten.casussen) == []
    assert jeugd.casussen[0].aantal_betrokkenen == 1


async def test_page_token_from_other_filters_or_garbage_is_invalid(register: RegisterOpLoopback) -> None:
    for _ in range(3):
        await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))
    token = (
        await register.stub.Zoeken(S.ZoekenRequest(page_size=1), metadata=register.als(IC))
    ).next_page_token

    andere = await fout(
        register.stub.Zoeken(
            S.ZoekenRequest(page_size=1, page_token=token, thema=S.THEMA_JEUGD), metadata=register.als(IC)
        )
    )
    rommel = await fout(register.stub.Zoeken(S.ZoekenRequest(page_token="!!"), metadata=register.als(IC)))
    te_groot = await fout(register.stub.Zoeken(S.ZoekenRequest(page_size=500), metadata=register.als(IC)))

    assert andere.code() == rommel.code() == te_groot.code() == grpc.StatusCode.INVALID_ARGUMENT
