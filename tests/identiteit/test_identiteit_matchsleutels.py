"""Match keys: which keys a person gets, their exact bytes, swapped dates, validation."""

from __future__ import annotations

import types
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gedeeld.identiteit as identiteit
from gedeeld.fouten import ValidationError
from gedeeld.identiteit import (
    SLEUTEL_DOMEIN,
    Matchsleutel,
    PersoonsGegevens,
    SleutelType,
    codeer_sleutel,
    is_zeker,
    leid_matchsleutels,
)

INSTELLINGEN = settings(derandomize=True, database=None, max_examples=300, deadline=None)

T = SleutelType


def persoon(
    achternaam: str = "van den Berg",
    voornamen: str = "Éva Maria",
    geboortedatum: date = date(1990, 3, 5),
    bsn: str | None = None,
) -> PersoonsGegevens:
    return PersoonsGegevens(bsn, achternaam, voornamen, geboortedatum)


def waarden(p: PersoonsGegevens) -> set[bytes]:
    return {s.waarde for s in leid_matchsleutels(p)}


def gedeelde_types(a: PersoonsGegevens, b: PersoonsGegevens) -> set[SleutelType]:
    van_b = {s.waarde for s in leid_matchsleutels(b)}
    return {s.type for s in leid_matchsleutels(a) if s.waarde in van_b}


def test_golden_encoding() -> None:
    # The bytes are a contract between all regions' nodes: pinned here on purpose.
    sleutels = leid_matchsleutels(persoon(bsn="1234.56.782"))
    assert [(s.type, s.waarde) for s in sleutels] == [
        (T.BSN, b"zvh-matchsleutel-v1\x00bsn\x00123456782"),
        (T.NAAM_DATUM, b"zvh-matchsleutel-v1\x00naam_datum\x00berg\x00e\x001990-03-05"),
        (T.FONETISCH_DATUM, b"zvh-matchsleutel-v1\x00fonetisch_datum\x00berX\x00e\x001990-03-05"),
        (
            T.NAAM_DATUM_GEWISSELD,
            b"zvh-matchsleutel-v1\x00naam_datum_gewisseld\x00berg\x00e\x001990\x0003\x0005",
        ),
        (
            T.FONETISCH_DATUM_GEWISSELD,
            b"zvh-matchsleutel-v1\x00fonetisch_datum_gewisseld\x00berX\x00e\x001990\x0003\x0005",
        ),
    ]


def test_sleuteltype_values_are_the_labels() -> None:
    assert [t.value for t in SleutelType] == [
        "bsn",
        "naam_datum",
        "fonetisch_datum",
        "naam_datum_gewisseld",
        "fonetisch_datum_gewisseld",
    ]
    assert SLEUTEL_DOMEIN == b"zvh-matchsleutel-v1"


def test_no_swapped_keys_when_day_above_12_or_day_equals_month() -> None:
    for datum in (date(1990, 3, 13), date(1990, 5, 5), date(1990, 12, 31)):
        assert {s.type for s in leid_matchsleutels(persoon(geboortedatum=datum))} == {
            T.NAAM_DATUM,
            T.FONETISCH_DATUM,
        }


def test_swapped_day_and_month_match_on_the_gewisseld_keys_only() -> None:
    in_a = persoon(geboortedatum=date(1990, 3, 5))
    in_b = persoon(geboortedatum=date(1990, 5, 3))
    assert gedeelde_types(in_a, in_b) == {T.NAAM_DATUM_GEWISSELD, T.FONETISCH_DATUM_GEWISSELD}
    assert gedeelde_types(in_b, in_a) == {T.NAAM_DATUM_GEWISSELD, T.FONETISCH_DATUM_GEWISSELD}


def test_swap_with_a_spelling_variant_still_matches_phonetically() -> None:
    in_a = persoon(achternaam="Janssen", geboortedatum=date(1984, 11, 2))
    in_b = persoon(achternaam="Jansen", geboortedatum=date(1984, 2, 11))
    assert gedeelde_types(in_a, in_b) == {T.FONETISCH_DATUM_GEWISSELD}


def test_same_person_matches_on_every_type_it_has() -> None:
    a = persoon(bsn="111222333")
    assert gedeelde_types(a, persoon(bsn="111 222 333", achternaam="Berg, Van Den")) == set(T)


@pytest.mark.parametrize(
    ("b", "gedeeld"),
    [
        (persoon(geboortedatum=date(1990, 3, 6)), set()),  # other day
        (persoon(geboortedatum=date(1991, 3, 5)), set()),  # other year
        (persoon(geboortedatum=date(1991, 5, 3)), set()),  # swapped, but other year
        (persoon(voornamen="Anna"), set()),  # other initial
        (persoon(achternaam="Bergh"), {T.FONETISCH_DATUM, T.FONETISCH_DATUM_GEWISSELD}),
        (persoon(achternaam="van den Broek"), set()),
        (persoon(achternaam="Berg"), set(T) - {T.BSN}),  # voorvoegsel is not in the key
    ],
)
def test_what_does_and_does_not_match(b: PersoonsGegevens, gedeeld: set[SleutelType]) -> None:
    assert gedeelde_types(persoon(), b) == gedeeld


def test_double_name_matches_each_part_and_the_reversed_order() -> None:
    dubbel = persoon(achternaam="Jansen-de Vries", geboortedatum=date(1975, 6, 20))
    # "Jansenvries": written without separators, matched by the joined name.
    for andere in ("de Vries", "Vries, de", "Jansen", "de Vries-Jansen", "Jansenvries"):
        b = persoon(achternaam=andere, geboortedatum=date(1975, 6, 20))
        assert T.NAAM_DATUM in gedeelde_types(dubbel, b)
    b = persoon(achternaam="de Jong", geboortedatum=date(1975, 6, 20))
    assert not gedeelde_types(dubbel, b)


def test_bsn_key_only_with_a_bsn_and_is_zeker() -> None:
    zonder = leid_matchsleutels(persoon())
    met = leid_matchsleutels(persoon(bsn="123456782"))
    assert T.BSN not in {s.type for s in zonder}
    assert met[0].type is T.BSN and met[1:] == zonder
    assert is_zeker({T.BSN, T.NAAM_DATUM})
    assert is_zeker([T.BSN])
    assert not is_zeker({T.NAAM_DATUM, T.FONETISCH_DATUM, T.NAAM_DATUM_GEWISSELD})
    assert not is_zeker(set())


def test_different_bsns_never_share_the_bsn_key() -> None:
    a = leid_matchsleutels(persoon(bsn="111222333"))[0]
    b = leid_matchsleutels(persoon(bsn="123456782"))[0]
    assert a.type is b.type is T.BSN and a.waarde != b.waarde


def test_all_violations_are_reported_together_without_values() -> None:
    slecht = PersoonsGegevens("123456789", "1234", "", date(1850, 1, 1))
    with pytest.raises(ValidationError) as fout:
        leid_matchsleutels(slecht)
    assert [v.field for v in fout.value.violations] == [
        "bsn",
        "achternaam",
        "voornamen",
        "geboortedatum",
    ]
    assert "123456789" not in str(fout.value) and "1850" not in str(fout.value)


@pytest.mark.parametrize("bsn", ["", "123456789", "12345678x", "000000000"])
def test_a_given_bsn_must_be_valid(bsn: str) -> None:
    with pytest.raises(ValidationError) as fout:
        leid_matchsleutels(persoon(bsn=bsn))
    assert [v.field for v in fout.value.violations] == ["bsn"]


def test_keys_are_deterministic_ordered_and_unique() -> None:
    p = persoon(achternaam="Jansen-Janssen-de Vries", bsn="111222333")
    sleutels = leid_matchsleutels(p)
    assert sleutels == leid_matchsleutels(p)
    assert len(set(sleutels)) == len(sleutels)
    volgorde = list(SleutelType)
    assert [volgorde.index(s.type) for s in sleutels] == sorted(volgorde.index(s.type) for s in sleutels)


def test_repr_hides_identifiers() -> None:
    p = persoon(bsn="111222333")
    assert "111222333" not in repr(p) and "Berg" not in repr(p)
    assert "berg" not in repr(leid_matchsleutels(p)[1])


AANTAL_VELDEN = {T.BSN: 1, T.NAAM_DATUM: 3, T.FONETISCH_DATUM: 3}  # the gewisseld types: 5
# A small alphabet makes equal fields (and near-misses like "a-b" vs "a", "b") frequent.
velden = st.text(st.sampled_from("abX09-"), min_size=1, max_size=3)
sleutelinvoer = st.sampled_from(list(SleutelType)).flatmap(
    lambda t: st.tuples(
        st.just(t),
        st.lists(velden, min_size=AANTAL_VELDEN.get(t, 5), max_size=AANTAL_VELDEN.get(t, 5)),
    )
)


@INSTELLINGEN
@given(sleutelinvoer, sleutelinvoer)
def test_encoding_is_injective(a: tuple[SleutelType, list[str]], b: tuple[SleutelType, list[str]]) -> None:
    assert (codeer_sleutel(*a) == codeer_sleutel(*b)) == (a == b)


@INSTELLINGEN
@given(sleutelinvoer)
def test_encoding_splits_back_into_its_parts(a: tuple[SleutelType, list[str]]) -> None:
    type_, veldwaarden = a
    assert codeer_sleutel(type_, veldwaarden).split(b"\x00") == [
        SLEUTEL_DOMEIN,
        type_.value.encode(),
        *(v.encode() for v in veldwaarden),
    ]


@pytest.mark.parametrize(
    ("type_", "veldwaarden"),
    [
        (T.BSN, []),
        (T.BSN, ["1", "2"]),
        (T.NAAM_DATUM, ["berg", "e"]),
        (T.NAAM_DATUM, ["berg", "", "1990-03-05"]),
        (T.NAAM_DATUM, ["be\x00rg", "e", "1990-03-05"]),
        (T.NAAM_DATUM, ["berg e", "e", "1990-03-05"]),
        (T.NAAM_DATUM, ["bérg", "e", "1990-03-05"]),
    ],
)
def test_encoding_refuses_fields_that_could_break_injectivity(
    type_: SleutelType, veldwaarden: list[str]
) -> None:
    with pytest.raises(ValueError, match="field"):
        codeer_sleutel(type_, veldwaarden)


def test_matchsleutel_is_frozen_and_hashable() -> None:
    s = Matchsleutel(T.BSN, b"x")
    assert s == Matchsleutel(T.BSN, b"x") and hash(s) == hash(Matchsleutel(T.BSN, b"x"))
    with pytest.raises(AttributeError):
        s.waarde = b"y"  # type: ignore[misc]


def test_all_lists_exactly_the_public_names() -> None:
    publiek = {
        naam
        for naam, waarde in vars(identiteit).items()
        if not naam.startswith("_") and not isinstance(waarde, types.ModuleType)
    }
    assert set(identiteit.__all__) == publiek
