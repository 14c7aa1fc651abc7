"""Property tests: normalisation is idempotent, and how a name is written does not change its keys."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from gedeeld.fouten import ValidationError
from gedeeld.identiteit import (
    VOORVOEGSEL_WOORDEN,
    PersoonsGegevens,
    SleutelType,
    leid_matchsleutels,
    normaliseer_achternaam,
    vouw,
)

INSTELLINGEN = settings(derandomize=True, database=None, max_examples=400, deadline=None)

VOORVOEGSELS = [
    "van", "de", "van der", "van den", "van de", "ter", "ten", "te", "'t", "het", "in 't",
    "op de", "uit den", "van 't", "la", "le", "du", "d'", "von", "dos", "da", "el",
]  # fmt: skip

ACCENTEN = {
    "a": "áàäâåã",
    "e": "éèëê",
    "i": "íìïî",
    "o": "óòöôõ",
    "u": "úùüû",
    "c": "ç",
    "n": "ñ",
    "y": "ýÿ",
    "s": "š",
    "z": "ž",
}

kernwoorden = st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10).filter(
    lambda w: w not in VOORVOEGSEL_WOORDEN
)
naamdelen = st.tuples(st.sampled_from(["", *VOORVOEGSELS]), kernwoorden)
datums = st.dates(min_value=date(1920, 1, 1), max_value=date(2015, 12, 31))


def sleutels(achternaam: str, geboortedatum: date = date(1988, 4, 9)) -> list[bytes]:
    p = PersoonsGegevens(None, achternaam, "Eva", geboortedatum)
    return [s.waarde for s in leid_matchsleutels(p)]


def geschreven(delen: list[tuple[str, str]]) -> str:
    return "-".join(f"{vv} {kern}".strip() for vv, kern in delen)


@INSTELLINGEN
@given(st.text())
def test_vouw_is_idempotent(tekst: str) -> None:
    assert vouw(vouw(tekst)) == vouw(tekst)


@INSTELLINGEN
@given(
    st.one_of(
        st.text(),
        st.lists(
            st.one_of(kernwoorden, st.sampled_from([*VOORVOEGSELS, "-", ",", "'", "’t", "Ĳ"])),
            max_size=8,
        ).map(" ".join),
    )
)
def test_surname_normalisation_is_idempotent(raw: str) -> None:
    try:
        eens = normaliseer_achternaam(raw)
    except ValidationError:
        return
    twee = normaliseer_achternaam(eens.tekst)
    assert twee == eens
    assert twee.tekst == eens.tekst
    assert all(d.kern.isascii() and d.kern.isalpha() and d.kern.islower() for d in eens.delen)


@INSTELLINGEN
@given(st.lists(naamdelen, min_size=1, max_size=3), st.data())
def test_case_does_not_change_the_keys(delen: list[tuple[str, str]], data: st.DataObject) -> None:
    naam = geschreven(delen)
    hoog = data.draw(st.lists(st.booleans(), min_size=len(naam), max_size=len(naam)))
    anders = "".join(c.upper() if h else c for c, h in zip(naam, hoog, strict=True))
    assert sleutels(anders) == sleutels(naam)


@INSTELLINGEN
@given(st.lists(naamdelen, min_size=1, max_size=3), st.data())
def test_spacing_does_not_change_the_keys(delen: list[tuple[str, str]], data: st.DataObject) -> None:
    naam = geschreven(delen)
    witruimte = st.text(" \t\u00a0", min_size=1, max_size=3)
    woorden = naam.replace("-", " - ").split()
    tussen = data.draw(st.lists(witruimte, min_size=len(woorden) + 1, max_size=len(woorden) + 1))
    anders = tussen[0] + "".join(w + t for w, t in zip(woorden, tussen[1:], strict=True))
    assert sleutels(anders) == sleutels(naam)


@INSTELLINGEN
@given(st.lists(naamdelen, min_size=1, max_size=3), st.data())
def test_diacritics_and_ligatures_do_not_change_the_keys(
    delen: list[tuple[str, str]], data: st.DataObject
) -> None:
    naam = geschreven(delen)
    tekens = []
    for c in naam:
        keuzes = ACCENTEN.get(c, "")
        tekens.append(data.draw(st.sampled_from(c + keuzes)) if keuzes else c)
    anders = "".join(tekens).replace("ij", "ĳ")
    assert sleutels(anders) == sleutels(naam)


@INSTELLINGEN
@given(st.sampled_from(VOORVOEGSELS), kernwoorden, datums)
def test_voorvoegsel_position_does_not_change_the_keys(vv: str, kern: str, geboortedatum: date) -> None:
    verwacht = sleutels(f"{vv} {kern}", geboortedatum)
    for anders in (f"{kern}, {vv}", f"{kern},{vv}", f"{kern} {vv}", kern):
        # Dropping the voorvoegsel altogether is also the same key: it is not in the key.
        assert sleutels(anders, geboortedatum) == verwacht


@INSTELLINGEN
@given(st.lists(naamdelen, min_size=2, max_size=3), datums)
def test_each_part_of_a_multi_part_name_matches_on_its_own(
    delen: list[tuple[str, str]], geboortedatum: date
) -> None:
    geheel = set(sleutels(geschreven(delen), geboortedatum))
    for vv, kern in delen:
        assert set(sleutels(f"{vv} {kern}", geboortedatum)) & geheel


@INSTELLINGEN
@given(st.lists(naamdelen, min_size=1, max_size=3), datums, st.booleans())
def test_keys_are_unique_and_have_the_documented_types(
    delen: list[tuple[str, str]], geboortedatum: date, met_bsn: bool
) -> None:
    p = PersoonsGegevens("111222333" if met_bsn else None, geschreven(delen), "Eva", geboortedatum)
    lijst = leid_matchsleutels(p)
    assert len(set(lijst)) == len(lijst)
    typen = {s.type for s in lijst}
    assert (SleutelType.BSN in typen) == met_bsn
    gewisseld = geboortedatum.day <= 12 and geboortedatum.day != geboortedatum.month
    assert (SleutelType.NAAM_DATUM_GEWISSELD in typen) == gewisseld
    assert (SleutelType.FONETISCH_DATUM_GEWISSELD in typen) == gewisseld


@INSTELLINGEN
@given(st.lists(naamdelen, min_size=1, max_size=2), datums)
def test_a_swapped_registration_always_shares_a_key(
    delen: list[tuple[str, str]], geboortedatum: date
) -> None:
    if geboortedatum.day > 12:
        return
    verwisseld = date(geboortedatum.year, geboortedatum.day, geboortedatum.month)
    naam = geschreven(delen)
    assert set(sleutels(naam, geboortedatum)) & set(sleutels(naam, verwisseld))
