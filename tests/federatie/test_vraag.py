"""Hit/no-hit queries end to end: real nodes, real NATS, real gRPC."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from nats.aio.client import Client
from prometheus_client import REGISTRY

from gedeeld.federatie.bericht import onderteken
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats.server import NatsServer
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import vraag_pb2 as V
from tests.federatie import knooppunten
from tests.federatie.knooppunten import Federatie
from tests.voorbeelden import BSN_B, aanmelding, betrokkene


async def _persoon_in_wvv_en_arnhem(federatie: Federatie) -> str:
    casus = await federatie["wvv"].aanmelden(aanmelding(betrokkene()))
    await federatie["arnhem"].aanmelden(aanmelding(betrokkene(voornamen="Jan")))
    await federatie.rustig()
    return casus.casus_id


async def test_query_lists_hits_no_hits_and_unanswered_regions(federatie: Federatie) -> None:
    casus_id = await _persoon_in_wvv_en_arnhem(federatie)
    wvv = federatie["wvv"]

    antwoord = await wvv.vragen(V.VragenRequest(casus_id=casus_id))
    [res] = antwoord.resultaten
    assert [t.regio for t in res.treffers] == ["arnhem"]
    assert res.treffers[0].zekerheid == F.ZEKERHEID_ZEKER
    assert "bsn" in res.treffers[0].sleutel_types
    assert res.treffers[0].contact == "procesregie@arnhem.zvh.invalid"
    assert list(res.geen_treffer) == ["haaglanden"]
    assert not res.niet_beantwoord

    await federatie.stop("haaglanden")
    begin = time.monotonic()
    antwoord = await wvv.vragen(V.VragenRequest(casus_id=casus_id, deadline_ms=5000))
    [res] = antwoord.resultaten
    assert [t.regio for t in res.treffers] == ["arnhem"]
    assert [(n.regio, n.reden) for n in res.niet_beantwoord] == [
        ("haaglanden", V.NIET_BEANTWOORD_REDEN_GEEN_ANTWOORD)
    ]
    # NATS reports "no responders" at once: a region that is down does not cost the whole deadline.
    assert time.monotonic() - begin < 4


async def test_query_to_one_region_and_per_person_of_a_gezin(federatie: Federatie) -> None:
    anders = betrokkene(bsn=BSN_B, voornamen="Fatima", voorvoegsels="", achternaam="El Amrani")
    casus = await federatie["wvv"].aanmelden(aanmelding(betrokkene(), anders))
    await federatie["haaglanden"].aanmelden(
        aanmelding(betrokkene(bsn=BSN_B, voornamen="F.", voorvoegsels="", achternaam="El Amrani"))
    )
    await federatie.rustig()

    antwoord = await federatie["wvv"].vragen(V.VragenRequest(casus_id=casus.casus_id, regios=["haaglanden"]))
    per_persoon = {r.betrokkene_id: r for r in antwoord.resultaten}
    ids = [b.betrokkene_id for b in casus.betrokkenen]
    assert set(per_persoon) == set(ids)
    assert not per_persoon[ids[0]].treffers and list(per_persoon[ids[0]].geen_treffer) == ["haaglanden"]
    assert [t.regio for t in per_persoon[ids[1]].treffers] == ["haaglanden"]

    een = await federatie["wvv"].vragen(
        V.VragenRequest(casus_id=casus.casus_id, betrokkene_id=ids[1], regios=["haaglanden"])
    )
    assert [r.betrokkene_id for r in een.resultaten] == [ids[1]]


async def test_query_is_logged_in_the_asking_and_in_every_answering_region(federatie: Federatie) -> None:
    casus_id = await _persoon_in_wvv_en_arnhem(federatie)
    antwoord = await federatie["wvv"].vragen(V.VragenRequest(casus_id=casus_id))

    [gesteld] = await federatie["wvv"].audit("vraag_gesteld")
    assert gesteld.actor == "ic-carla" and gesteld.object_id == casus_id
    assert json.loads(gesteld.details)["vraag_id"] == antwoord.vraag_id
    for code, treffer in (("arnhem", 1), ("haaglanden", 0)):
        [beantwoord] = await federatie[code].audit("vraag_beantwoord")
        assert beantwoord.actor == "regio:wvv" and beantwoord.object_id == antwoord.vraag_id
        assert json.loads(beantwoord.details)["treffer"] == treffer
        # One trace across the regions: the answering span descends from the asking call.
        assert beantwoord.trace_id == gesteld.trace_id


def _fout(exc: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(exc)
    velden: list[str] = []
    for d in status.details if status else []:
        br = error_details_pb2.BadRequest()
        if d.Unpack(br):
            velden += [v.field for v in br.field_violations]
    return velden


async def test_no_free_lookups_and_clear_errors(federatie: Federatie) -> None:
    wvv = federatie["wvv"]
    onbekend = str(uuid.uuid4())
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await wvv.vragen(V.VragenRequest(casus_id=onbekend))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "geen opzoeksysteem" in (e.value.details() or "")

    casus_id = await _persoon_in_wvv_en_arnhem(federatie)
    await wvv.afsluiten(casus_id)
    await federatie.rustig()
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await wvv.vragen(V.VragenRequest(casus_id=casus_id))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "afgesloten" in (e.value.details() or "")

    for req, veld in (
        (V.VragenRequest(casus_id="abc"), "casus_id"),
        (V.VragenRequest(casus_id=onbekend, betrokkene_id="x"), "betrokkene_id"),
        (V.VragenRequest(casus_id=onbekend, regios=["wvv"]), "regios"),
        (V.VragenRequest(casus_id=onbekend, regios=["atlantis"]), "regios"),
        # An unknown region is named back to the caller: first it must be plain text.
        (V.VragenRequest(casus_id=onbekend, regios=["arnhem", "\u202enemhra"]), "regios[1]"),
        (V.VragenRequest(casus_id=onbekend, regios=["arnhem\x00"]), "regios[0]"),
        (V.VragenRequest(casus_id=onbekend, deadline_ms=60_000), "deadline_ms"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await wvv.vragen(req)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, veld
        assert _fout(e.value) == [veld]


@pytest.mark.parametrize(
    ("gebruiker", "code"),
    [
        ("pr-anna", grpc.StatusCode.PERMISSION_DENIED),
        ("nm-dirk", grpc.StatusCode.PERMISSION_DENIED),
        ("fg-eva", grpc.StatusCode.PERMISSION_DENIED),
        ("niemand", grpc.StatusCode.UNAUTHENTICATED),
    ],
)
async def test_only_informatiecoordinators_may_ask(
    federatie: Federatie, gebruiker: str, code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await federatie["wvv"].vragen(V.VragenRequest(casus_id=str(uuid.uuid4())), gebruiker=gebruiker)
    assert e.value.code() == code


@pytest.fixture
async def krap(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Federatie]:
    """A federation whose regions answer at most two queries per asking region, then one per hour."""
    fed = await knooppunten.maak(
        tmp_path, nats_server.url, federatie_extra="vraag_burst = 2\nvraag_per_minuut = 0.0167\n"
    )
    async with knooppunten.draaiend(fed) as f:
        yield f


async def test_rate_limit_is_per_asking_region(krap: Federatie) -> None:
    casus_id = await _persoon_in_wvv_en_arnhem(krap)
    eigen = await krap["arnhem"].aanmelden(aanmelding(betrokkene(bsn=BSN_B, voornamen="Els")))
    await krap.rustig()
    vraag = V.VragenRequest(casus_id=casus_id, regios=["arnhem"])
    for _ in range(2):
        [res] = (await krap["wvv"].vragen(vraag)).resultaten
        assert [t.regio for t in res.treffers] == ["arnhem"]
    [res] = (await krap["wvv"].vragen(vraag)).resultaten
    assert [(n.regio, n.reden) for n in res.niet_beantwoord] == [("arnhem", V.NIET_BEANTWOORD_REDEN_LIMIET)]
    # Another asking region has its own budget.
    [res] = (
        await krap["haaglanden"].vragen(V.VragenRequest(casus_id=await _eigen(krap), regios=["arnhem"]))
    ).resultaten
    assert list(res.geen_treffer) == ["arnhem"]
    assert eigen.casus_id


async def _eigen(fed: Federatie) -> str:
    casus = await fed["haaglanden"].aanmelden(
        aanmelding(betrokkene(bsn="", voornamen="Kees", achternaam="Bakker"))
    )
    await fed.rustig()
    return casus.casus_id


def _verzoek(tmp: Path, afzender: str, ontvanger: str, epoch: int, tokens: int = 1, **extra: object) -> bytes:
    sleutels = RegioSleutels.lees(tmp / "sleutels" / afzender)
    velden: dict[str, object] = {
        "vraag_id": str(uuid.uuid4()),
        "regio": afzender,
        "ontvanger": ontvanger,
        "epoch": epoch,
        "tokens": [F.SignaalToken(sleutel_type="bsn", token=bytes([i]) * 64) for i in range(tokens)],
        "tijdstip_ms": int(time.time() * 1000),
    }
    verzoek = F.VraagVerzoek(**(velden | extra))  # type: ignore[arg-type]
    return onderteken(sleutels.ondertekening, afzender, "vraag", verzoek.SerializeToString())


def _geteld(uitkomst: str) -> float:
    return REGISTRY.get_sample_value("zvh_queries_answered_total", {"uitkomst": uitkomst}) or 0.0


def _antwoord(data: bytes) -> F.VraagAntwoord:
    return F.VraagAntwoord.FromString(F.Ondertekend.FromString(data).inhoud)


async def test_forged_replayed_stale_and_garbage_queries_are_refused(
    federatie: Federatie, nc: Client, tmp_path: Path
) -> None:
    node = federatie["arnhem"].node
    assert node is not None and node.signalering is not None
    epoch = node.signalering.ctx.federatie.epoch
    redenen = ("herhaald", "verlopen", "verkeerde_epoch", "ongeldige_handtekening", "onleesbaar", "te_groot")
    voor = {r: _geteld(r) for r in redenen}
    geldig = _verzoek(tmp_path, "wvv", "arnhem", epoch)
    eerste = _antwoord((await nc.request("zvh.vraag.arnhem", geldig, timeout=5)).data)
    assert eerste.fout == F.VRAAG_FOUT_GEEN and eerste.envelop

    herhaald = _antwoord((await nc.request("zvh.vraag.arnhem", geldig, timeout=5)).data)
    assert herhaald.fout == F.VRAAG_FOUT_ONGELDIG and not herhaald.envelop

    oud = _verzoek(tmp_path, "wvv", "arnhem", epoch, tijdstip_ms=int(time.time() * 1000) - 600_000)
    assert (
        _antwoord((await nc.request("zvh.vraag.arnhem", oud, timeout=5)).data).fout == F.VRAAG_FOUT_ONGELDIG
    )
    andere_epoch = _verzoek(tmp_path, "wvv", "arnhem", epoch + 1)
    assert (
        _antwoord((await nc.request("zvh.vraag.arnhem", andere_epoch, timeout=5)).data).fout
        == F.VRAAG_FOUT_VERKEERDE_EPOCH
    )
    voor_een_ander = _verzoek(tmp_path, "wvv", "haaglanden", epoch)
    assert (
        _antwoord((await nc.request("zvh.vraag.arnhem", voor_een_ander, timeout=5)).data).fout
        == F.VRAAG_FOUT_ONGELDIG
    )
    # Signed by haaglanden's key but claiming to be wvv; garbage; oversized: no answer content at all.
    env = F.Ondertekend.FromString(_verzoek(tmp_path, "haaglanden", "arnhem", epoch))
    env.afzender = "wvv"
    for data in (env.SerializeToString(), b"\x00garbage\xff", b"x" * 100_000):
        assert (await nc.request("zvh.vraag.arnhem", data, timeout=5)).data == b""

    assert {r: _geteld(r) - voor[r] for r in redenen} == {
        "herhaald": 1,
        "verlopen": 1,
        "verkeerde_epoch": 1,
        "ongeldige_handtekening": 1,
        "onleesbaar": 2,  # addressed to another region; garbage
        "te_groot": 1,
    }
    # The worker still answers the next valid query.
    volgende = _antwoord(
        (await nc.request("zvh.vraag.arnhem", _verzoek(tmp_path, "wvv", "arnhem", epoch), timeout=5)).data
    )
    assert volgende.fout == F.VRAAG_FOUT_GEEN
