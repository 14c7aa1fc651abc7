"""A batch of other regions' signals: checked one by one, recorded in one transaction."""

from __future__ import annotations

import uuid

import pytest
from nats.aio.msg import Msg
from prometheus_client import REGISTRY
from sqlalchemy import select

from gedeeld.beheer.tracing import TraceContext
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.federatie.bericht import onderteken
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats.jetstream import Uitkomst
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.inkomend import Inkomend
from services.signalering.store import TokenRij
from tests.federatie.knooppunten import Federatie, Regio
from tests.voorbeelden import BSN_B, aanmelding, betrokkene, signaal


def geweigerd(reden: str) -> float:
    return REGISTRY.get_sample_value("zvh_signals_rejected_total", {"reden": reden}) or 0.0


def ontvangen(soort: str) -> float:
    return REGISTRY.get_sample_value("zvh_signals_received_total", {"soort": soort}) or 0.0


def bericht(data: bytes, trace: TraceContext | None = None) -> Msg:
    headers = {"traceparent": (trace or TraceContext.new()).traceparent}
    return Msg(_client=None, subject="zvh.signaal.arnhem", data=data, headers=headers)  # type: ignore[arg-type]


async def tokens_van(regio: Regio) -> dict[str, list[F.SignaalToken]]:
    """The region's own index, per person's referentie, as a signal would carry it."""
    assert regio.node is not None
    async with regio.node.db.lezen() as s:
        rijen = (await s.execute(select(TokenRij))).scalars().all()
    uit: dict[str, list[F.SignaalToken]] = {}
    for r in rijen:
        uit.setdefault(r.referentie, []).append(F.SignaalToken(sleutel_type=r.sleutel_type, token=r.token))
    return uit


async def opzet(federatie: Federatie) -> tuple[Inkomend, list[Msg], str]:
    """wvv holds two persons; a batch from 'arnhem' hits both, with bad messages between the valid
    ones, a redelivery of one valid signal, and a withdrawal of the second person's signal."""
    wvv = federatie["wvv"]
    await wvv.aanmelden(aanmelding(betrokkene()))
    await wvv.aanmelden(aanmelding(betrokkene(bsn=BSN_B, voornamen="Karel", achternaam="Appel")))
    await federatie.rustig()
    [eerste, tweede] = (await tokens_van(wvv)).values()
    arnhem = RegioSleutels.lees(federatie["arnhem"].cfg_pad.parent / "sleutels" / "arnhem")
    ref_a, ref_b = uuid.uuid4().hex, uuid.uuid4().hex
    geldig_a = onderteken(arnhem.ondertekening, "arnhem", "signaal", signaal(eerste, ref_a))
    berichten = [
        bericht(onderteken(Ondertekensleutel.nieuw(), "arnhem", "signaal", signaal(eerste, ref_a))),
        bericht(geldig_a),
        bericht(b"\x00\xffgarbage\x13\x37"),
        bericht(onderteken(arnhem.ondertekening, "arnhem", "signaal", signaal(tweede, ref_b))),
        bericht(geldig_a),  # a redelivery in the same batch: still one match
        bericht(geldig_a[: len(geldig_a) // 2]),  # truncated
        bericht(onderteken(Ondertekensleutel.nieuw(), "atlantis", "signaal", signaal(eerste, ref_a))),
        bericht(
            onderteken(
                arnhem.ondertekening, "arnhem", "signaal", signaal([], ref_b, F.SIGNAAL_SOORT_INGETROKKEN)
            )
        ),
    ]
    assert wvv.node is not None and wvv.node.signalering is not None
    return wvv.node.signalering.inkomend, berichten, ref_a


VERWACHT = [
    Uitkomst.WEIGER,
    Uitkomst.KLAAR,
    Uitkomst.WEIGER,
    Uitkomst.KLAAR,
    Uitkomst.KLAAR,
    Uitkomst.WEIGER,
    Uitkomst.WEIGER,
    Uitkomst.KLAAR,
]
REDENEN = ("ongeldige_handtekening", "onleesbaar", "onbekende_regio")


async def controleer(federatie: Federatie, inkomend: Inkomend, berichten: list[Msg], ref_a: str) -> None:
    voor = {r: geweigerd(r) for r in REDENEN}
    actief, ingetrokken = ontvangen("actief"), ontvangen("ingetrokken")

    assert await inkomend.bij_signalen(berichten) == VERWACHT

    assert geweigerd("ongeldige_handtekening") - voor["ongeldige_handtekening"] == 1
    assert geweigerd("onleesbaar") - voor["onleesbaar"] == 2  # garbage and the truncated one
    assert geweigerd("onbekende_regio") - voor["onbekende_regio"] == 1
    assert ontvangen("actief") - actief == 3
    assert ontvangen("ingetrokken") - ingetrokken == 1
    matches = {m.andere_referentie: m for m in await federatie["wvv"].matches()}
    assert len(matches) == 2  # one per person pair, the redelivery included
    assert matches[ref_a].status == "OPEN"
    assert [m.status for r, m in matches.items() if r != ref_a] == ["GESLOTEN"]
    assert len(await federatie["wvv"].audit("match_gevonden")) == 3  # a row per signal that hit

    # Redelivered as a whole (e.g. after a crash before the acks): nothing new.
    assert await inkomend.bij_signalen(berichten) == VERWACHT
    assert len(await federatie["wvv"].matches()) == 2


async def test_a_batch_rejects_bad_messages_by_reason_and_matches_the_valid_ones(
    federatie: Federatie,
) -> None:
    inkomend, berichten, ref_a = await opzet(federatie)
    await controleer(federatie, inkomend, berichten, ref_a)


async def test_a_failing_batch_transaction_falls_back_to_one_message_at_a_time(
    federatie: Federatie, monkeypatch: pytest.MonkeyPatch
) -> None:
    inkomend, berichten, ref_a = await opzet(federatie)

    async def faalt(*_: object) -> object:
        raise RuntimeError("shared transaction failed")

    monkeypatch.setattr(inkomend, "_verwerk_samen", faalt)
    await controleer(federatie, inkomend, berichten, ref_a)
