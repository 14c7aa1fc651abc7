"""BSN normalisation and the 11-proef."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gedeeld.fouten import ValidationError
from gedeeld.identiteit import is_geldig_bsn, normaliseer_bsn, valideer_bsn

INSTELLINGEN = settings(derandomize=True, database=None, max_examples=300, deadline=None)

GELDIG = ["111222333", "123456782", "225437259", "523832096", "030437866", "010000008"]
_GEWICHTEN = (9, 8, 7, 6, 5, 4, 3, 2, -1)


@pytest.mark.parametrize("bsn", GELDIG)
def test_known_valid_bsns_pass_the_11_proef(bsn: str) -> None:
    assert is_geldig_bsn(bsn)
    assert valideer_bsn(bsn) == bsn


@pytest.mark.parametrize(
    "bsn",
    [
        "123456789",  # sum 147, 147 mod 11 = 4
        "111222334",  # last digit off by one
        "111222332",
        "211222333",  # first digit off by one
        "000000000",  # sum 0 is divisible by 11, but all zeros is no BSN
        "12345678",  # not normalised: is_geldig_bsn wants nine digits
        "1234567820",
        "12345678a",
        "١٢٣٤٥٦٧٨٢",  # Arabic-Indic digits: str.isdigit() is True, still no BSN
        "",
    ],
)
def test_invalid_bsns_fail(bsn: str) -> None:
    assert not is_geldig_bsn(bsn)


@pytest.mark.parametrize(
    ("raw", "verwacht"),
    [
        ("123456782", "123456782"),
        ("1234.56.782", "123456782"),
        ("123 456 782", "123456782"),
        ("123-456-782", "123456782"),
        (" 12 34 56 78 2\t", "123456782"),
        ("1234\u201356\u2013782", "123456782"),  # en dash from a word processor
        ("30437866", "030437866"),  # leading zero lost by a spreadsheet
        ("3043.78.66", "030437866"),
    ],
)
def test_normaliseer_strips_separators_and_pads_eight_digits(raw: str, verwacht: str) -> None:
    assert normaliseer_bsn(raw) == verwacht


@pytest.mark.parametrize(
    ("raw", "regel"),
    [
        ("12345678x", "alleen cijfers"),
        ("123/456/782", "alleen cijfers"),
        ("１２３４５６７８２", "alleen cijfers"),  # full-width digits
        ("1234567", "9 cijfers"),
        ("1234567890", "9 cijfers"),
        ("", "9 cijfers"),
        (" . - ", "9 cijfers"),
    ],
)
def test_normaliseer_rejects_malformed_input(raw: str, regel: str) -> None:
    with pytest.raises(ValidationError) as fout:
        normaliseer_bsn(raw)
    [schending] = fout.value.violations
    assert schending.field == "bsn"
    assert regel in schending.description


def test_valideer_rejects_11_proef_failure_without_echoing_the_number() -> None:
    with pytest.raises(ValidationError) as fout:
        valideer_bsn("1234.56.789", veld="betrokkenen[0].bsn")
    [schending] = fout.value.violations
    assert schending.field == "betrokkenen[0].bsn"
    assert "elfproef" in schending.description
    assert "123" not in str(fout.value) and "789" not in str(fout.value)


def test_malformed_input_is_not_echoed() -> None:
    with pytest.raises(ValidationError) as fout:
        valideer_bsn("98765432x1")
    assert "9876" not in str(fout.value)


def _som(bsn: str) -> int:
    return sum(g * int(c) for g, c in zip(_GEWICHTEN, bsn, strict=True))


# The check digit is (9*d1 + ... + 2*d8) mod 11 whenever that is a single digit.
geldige_bsns = (
    st.text("0123456789", min_size=8, max_size=8)
    .filter(lambda acht: acht != "00000000" and _som(acht + "0") % 11 < 10)
    .map(lambda acht: acht + str(_som(acht + "0") % 11))
)


@INSTELLINGEN
@given(geldige_bsns)
def test_generated_valid_bsns_pass(bsn: str) -> None:
    assert is_geldig_bsn(bsn)


@INSTELLINGEN
@given(geldige_bsns, st.integers(0, 8), st.integers(1, 9))
def test_the_11_proef_catches_every_single_digit_error(bsn: str, plek: int, delta: int) -> None:
    fout = (int(bsn[plek]) + delta) % 10
    veranderd = bsn[:plek] + str(fout) + bsn[plek + 1 :]
    assert not is_geldig_bsn(veranderd)


@INSTELLINGEN
@given(geldige_bsns, st.integers(0, 7))
def test_the_11_proef_catches_every_swap_of_neighbouring_digits(bsn: str, plek: int) -> None:
    verwisseld = bsn[:plek] + bsn[plek + 1] + bsn[plek] + bsn[plek + 2 :]
    assert is_geldig_bsn(verwisseld) == (verwisseld == bsn)


@INSTELLINGEN
@given(geldige_bsns, st.lists(st.sampled_from([" ", ".", "-", "  "]), min_size=10, max_size=10))
def test_separators_anywhere_do_not_change_the_bsn(bsn: str, scheiding: list[str]) -> None:
    met_tekens = "".join(s + c for s, c in zip(scheiding, bsn + " ", strict=True))
    assert valideer_bsn(met_tekens) == bsn
