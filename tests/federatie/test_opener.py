"""The one opener for messages from another region (``open_als``, ``ontsleutel_als``) and the one
refusal path (``BerichtFout``, ``weiger``): every way a message can fail ends in a
``BerichtFout`` with its fixed reason, and every refusal is counted and logged the same way."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from gedeeld.crypto.envelop import verzegel
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.federatie.bericht import onderteken, ontsleutel_als, open_als
from gedeeld.federatie.poort import Poort, weiger
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.fouten import BerichtFout, ZvhError
from gedeeld.nats.jetstream import Uitkomst
from gedeeld.zvh.v1 import federatie_pb2 as F
from tests.federatie.opzet import maak_federatie

FED = maak_federatie(3, 2)
ARNHEM = FED.regios["arnhem"]
SIGNAAL = F.Signaal(regio="arnhem", referentie="ref-1", signaal_id="s-1", epoch=1)
INFO = b"zvh-test-v1\x00wvv"


def _teller(naam: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(naam, labels) or 0.0


def test_a_signed_message_opens_as_the_type_asked_for() -> None:
    data = onderteken(ARNHEM.ondertekening, "arnhem", "signaal", SIGNAAL.SerializeToString())
    geopend = open_als(data, FED.federatie, "signaal", F.Signaal, 4096, afzender="arnhem")
    assert geopend.afzender == "arnhem"
    assert isinstance(geopend.inhoud, F.Signaal) and geopend.inhoud == SIGNAAL


@pytest.mark.parametrize(
    ("data", "afzender", "reden"),
    [
        (b"x" * 4097, None, "te_groot"),
        (b"\x00garbage\xff", None, "onleesbaar"),  # not an envelope
        (onderteken(ARNHEM.ondertekening, "arnhem", "treffer", b""), None, "onleesbaar"),  # other kind
        (onderteken(ARNHEM.ondertekening, "arnhem", "signaal", b"\x0a\x10ab"), None, "onleesbaar"),
        (onderteken(ARNHEM.ondertekening, "atlantis", "signaal", b""), None, "onbekende_regio"),
        (onderteken(ARNHEM.ondertekening, "arnhem", "signaal", b""), "haaglanden", "verkeerde_herkomst"),
        (onderteken(Ondertekensleutel.nieuw(), "arnhem", "signaal", b""), None, "ongeldige_handtekening"),
    ],
    ids=["te_groot", "geen_envelop", "andere_soort", "geen_signaal", "onbekend", "herkomst", "vervalst"],
)
def test_every_failure_to_open_is_a_bericht_fout_with_its_reason(
    data: bytes, afzender: str | None, reden: str
) -> None:
    with pytest.raises(BerichtFout) as fout:
        open_als(data, FED.federatie, "signaal", F.Signaal, 4096, afzender=afzender)
    assert fout.value.reden == reden
    assert isinstance(fout.value, ZvhError) and fout.value.opnieuw_na == 0.0


def test_the_gate_refuses_with_the_same_error_as_the_opener() -> None:
    poort = Poort("wvv", FED.federatie)
    goed = onderteken(ARNHEM.ondertekening, "arnhem", "signaal", SIGNAAL.SerializeToString())
    assert poort.open_als("signaal", goed, "arnhem", F.Signaal).inhoud.referentie == "ref-1"
    pogingen: list[tuple[Callable[[], object], str]] = [
        (lambda: poort.afzender("signaal", "zvh.signaal.atlantis"), "onbekende_regio"),
        (lambda: poort.open_als("signaal", goed, "haaglanden", F.Signaal), "verkeerde_herkomst"),
        (lambda: poort.open_als("signaal", b"\x00", "arnhem", F.Signaal), "onleesbaar"),
    ]
    for doe, reden in pogingen:
        with pytest.raises(BerichtFout) as fout:
            doe()
        assert fout.value.reden == reden
    assert poort.herkomst("treffer", "zvh.treffer.wvv.arnhem") == "arnhem"
    assert poort.herkomst("signaal", "zvh.signaal.atlantis") == "onbekend"  # never free text


def test_sealed_content_opens_only_with_our_key_and_info_as_the_type_asked_for() -> None:
    wvv = FED.regios["wvv"]
    verzegeld = verzegel(wvv.hpke.publiek, SIGNAAL.SerializeToString(), INFO)
    assert ontsleutel_als(wvv.hpke, verzegeld, INFO, F.Signaal) == SIGNAAL
    geknoeid = verzegeld[:-1] + bytes([verzegeld[-1] ^ 1])
    geen_signaal = verzegel(wvv.hpke.publiek, b"\x0a\x10ab", INFO)
    for sleutel, envelop, info in [
        (RegioSleutels.nieuw().hpke, verzegeld, INFO),  # sealed to another region
        (wvv.hpke, verzegeld, b"zvh-test-v1\x00arnhem"),  # another context
        (wvv.hpke, geknoeid, INFO),
        (wvv.hpke, verzegeld[:20], INFO),  # truncated
        (wvv.hpke, geen_signaal, INFO),  # opens, but is no Signaal
    ]:
        with pytest.raises(BerichtFout) as fout:
            ontsleutel_als(sleutel, envelop, info, F.Signaal)
        assert fout.value.reden == "onleesbaar"


def test_a_refusal_is_counted_by_kind_sender_and_reason_and_logged_without_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    labels = {"soort": "vraag", "afzender": "arnhem", "reden": "herhaald"}
    voor = (
        _teller("zvh_federation_rejected_total", labels),
        _teller("zvh_signals_rejected_total", {"reden": "herhaald"}),
    )
    caplog.set_level(logging.INFO, logger="zvh.federatie")
    fout = BerichtFout("herhaald", "this query was answered already (replay)")
    uitkomst = weiger("vraag", fout.reden, afzender="arnhem", subject="zvh.vraag.wvv")
    assert uitkomst is Uitkomst.WEIGER
    assert _teller("zvh_federation_rejected_total", labels) - voor[0] == 1
    assert _teller("zvh_signals_rejected_total", {"reden": "herhaald"}) - voor[1] == 1
    [regel] = [r for r in caplog.records if r.name == "zvh.federatie"]
    assert regel.getMessage() == "federation message rejected"
    assert (regel.soort, regel.reden, regel.afzender, regel.subject) == (  # type: ignore[attr-defined]
        "vraag",
        "herhaald",
        "arnhem",
        "zvh.vraag.wvv",
    )
