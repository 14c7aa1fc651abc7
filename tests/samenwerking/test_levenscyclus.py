"""The joint-handling rules as pure functions: every order of arrival ends the same on both sides."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from services.samenwerking import levenscyclus as L

S = L.Status
NIEUW = L.Toestand(S.NIEUW)


def test_proposal_then_acceptance() -> None:
    a = L.stel_voor(NIEUW, "wvv", "arnhem", "arnhem")
    b = L.ontvang_voorstel(L.bekijk(NIEUW), "arnhem", "wvv", "arnhem")
    assert a == b == L.Toestand(S.SAMENWERKING_VOORGESTELD, "arnhem", "wvv")
    b = L.geef_akkoord(b, "arnhem")
    a = L.ontvang_akkoord(a, "wvv")
    assert a == b and a.status == S.SAMENWERKING


@pytest.mark.parametrize(
    ("fn", "melding"),
    [
        (lambda: L.geef_akkoord(NIEUW, "wvv"), "alleen op een voorstel"),
        (lambda: L.geef_akkoord(L.stel_voor(NIEUW, "wvv", "arnhem", "wvv"), "wvv"), "eigen regio"),
        (lambda: L.stel_voor(NIEUW, "wvv", "arnhem", "zeeland"), "wvv of arnhem"),
        (
            lambda: L.stel_voor(
                L.Toestand(S.SAMENWERKING_VOORGESTELD, "wvv", "arnhem"), "wvv", "arnhem", "wvv"
            ),
            "akkoord",
        ),
        (lambda: L.wijs_af(L.Toestand(S.SAMENWERKING, "wvv"), "r"), "niet meer"),
        (lambda: L.mag_bericht(L.Toestand(S.GESLOTEN)), "niet meer"),
    ],
)
def test_illegal_steps_are_refused_in_dutch(fn: Callable[[], object], melding: str) -> None:
    with pytest.raises(L.OngeldigeStap) as e:
        fn()
    assert melding in e.value.message


@pytest.mark.parametrize(("regie_a", "regie_b"), list(itertools.product(["wvv", "arnhem"], repeat=2)))
def test_simultaneous_proposals_converge(regie_a: str, regie_b: str) -> None:
    a = L.stel_voor(NIEUW, "wvv", "arnhem", regie_a)
    b = L.stel_voor(NIEUW, "arnhem", "wvv", regie_b)
    a2 = L.ontvang_voorstel(a, "wvv", "arnhem", regie_b)
    b2 = L.ontvang_voorstel(b, "arnhem", "wvv", regie_a)
    assert a2 == b2
    if regie_a == regie_b:
        assert a2.status == S.SAMENWERKING and a2.regie == regie_a
    else:
        assert a2 == L.Toestand(S.SAMENWERKING_VOORGESTELD, regie_b, "arnhem")


def test_refusal_wins_over_a_crossing_acceptance() -> None:
    voorstel = L.stel_voor(NIEUW, "wvv", "arnhem", "wvv")
    bij_arnhem = L.geef_akkoord(L.ontvang_voorstel(NIEUW, "arnhem", "wvv", "wvv"), "arnhem")
    bij_wvv = L.wijs_af(voorstel, "ingetrokken")  # wvv withdraws at the same moment
    bij_arnhem = L.ontvang_afwijzing(bij_arnhem, "ingetrokken")
    bij_wvv = L.ontvang_akkoord(bij_wvv, "wvv")
    assert bij_arnhem == bij_wvv == L.Toestand(S.AFGEWEZEN, reden="ingetrokken")


def test_closed_is_final() -> None:
    dicht = L.sluit(L.stel_voor(NIEUW, "wvv", "arnhem", "wvv"))
    assert dicht.status == S.GESLOTEN
    assert L.ontvang_afwijzing(dicht, "x") == dicht
    assert L.ontvang_voorstel(dicht, "wvv", "arnhem", "wvv") == dicht
    assert L.ontvang_akkoord(dicht, "wvv") == dicht


def test_a_proposal_naming_a_third_region_is_ignored() -> None:
    assert L.ontvang_voorstel(NIEUW, "wvv", "arnhem", "zeeland") == NIEUW
