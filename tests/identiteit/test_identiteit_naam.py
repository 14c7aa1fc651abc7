"""Folding, voorvoegsels, double names and initials."""

from __future__ import annotations

import pytest

from gedeeld.fouten import ValidationError
from gedeeld.identiteit import (
    VOORVOEGSEL_WOORDEN,
    initiaal,
    is_voorvoegsel,
    normaliseer_achternaam,
    vouw,
)


@pytest.mark.parametrize(
    ("raw", "verwacht"),
    [
        ("Éva", "eva"),
        ("Ĳsselmeer", "ijsselmeer"),  # the ĳ ligature (U+0133/U+0132)
        ("ĳzerman", "ijzerman"),
        ("Strauß", "strauss"),
        ("STRAUẞ", "strauss"),  # capital sharp s
        ("Æbelø", "aebelo"),
        ("Œuvre", "oeuvre"),
        ("Bjørn", "bjorn"),
        ("Łukasz Đorđević", "lukasz dordevic"),  # ł and đ have no NFKD decomposition
        ("Þór", "thor"),
        ("Yıldız", "yildiz"),  # Turkish dotless ı
        ("İnce", "ince"),  # Turkish dotted İ
        ("Şahin Çelik Öztürk", "sahin celik ozturk"),
        ("Nguyễn", "nguyen"),
        ("ﬁnke", "finke"),  # the fi ligature
        ("d’Ancona", "d'ancona"),  # typographic apostrophe
        ("d´Hondt", "d'hondt"),  # acute accent typed as an apostrophe
        ("Jansen–de Vries", "jansen-de vries"),  # en dash
        ("  van   den\tBerg  ", "van den berg"),
        ("Berg, v.d.", "berg, v d"),
        ("Иванов", ""),  # non-Latin script is not transliterated
    ],
)
def test_vouw(raw: str, verwacht: str) -> None:
    assert vouw(raw) == verwacht


@pytest.mark.parametrize(
    ("raw", "voorvoegsel"),
    [
        ("van den Berg", "van den"),
        ("Van Den BERG", "van den"),
        ("VAN DEN BERG", "van den"),
        ("Berg, van den", "van den"),
        ("Berg,van den", "van den"),
        ("berg, Van Den", "van den"),
        ("Berg van den", "van den"),
        ("  van  den   Berg ", "van den"),
        ("van-den-Berg", "van den"),
        ("v.d. Berg", "v d"),  # abbreviations are kept as written: not part of any key
        ("v/d Berg", "v d"),
        ("vd Berg", "vd"),
        ("Berg, v.d.", "v d"),
    ],
)
def test_voorvoegsel_in_any_position_and_case(raw: str, voorvoegsel: str) -> None:
    naam = normaliseer_achternaam(raw)
    assert (naam.voorvoegsel, naam.kernnaam) == (voorvoegsel, "berg")
    assert naam.matchnamen == ("berg",)


@pytest.mark.parametrize(
    ("raw", "voorvoegsel", "kern"),
    [
        ("de Vries", "de", "vries"),
        ("Vries, de", "de", "vries"),
        ("van der Meer", "van der", "meer"),
        ("Van De Ven", "van de", "ven"),
        ("ter Horst", "ter", "horst"),
        ("ten Cate", "ten", "cate"),
        ("te Riele", "te", "riele"),
        ("'t Hart", "'t", "hart"),
        ("’t Hart", "'t", "hart"),
        ("t Hart", "'t", "hart"),  # lost apostrophe
        ("Hart, 't", "'t", "hart"),
        ("het Lam", "het", "lam"),
        ("in 't Veld", "in 't", "veld"),
        ("in't Veld", "in 't", "veld"),
        ("Veld, in 't", "in 't", "veld"),
        ("op de Beek", "op de", "beek"),
        ("uit den Bogaard", "uit den", "bogaard"),
        ("van 't Hof", "van 't", "hof"),
        ("'s-Gravesande", "'s", "gravesande"),
        ("La Rivière", "la", "riviere"),
        ("le Clercq", "le", "clercq"),
        ("du Pré", "du", "pre"),
        ("d'Ancona", "d'", "ancona"),
        ("D'Hondt", "d'", "hondt"),
        ("D Hondt", "d", "hondt"),  # lost apostrophe
        ("von Bülow", "von", "bulow"),
        ("dos Santos", "dos", "santos"),
        ("El Amrani", "el", "amrani"),
        ("El-Amrani", "el", "amrani"),
        ("O'Brien", "", "obrien"),  # not an elided article: the apostrophe is spelling
        ("N'Diaye", "", "ndiaye"),
        ("Jansen", "", "jansen"),
    ],
)
def test_voorvoegsels_are_split_off(raw: str, voorvoegsel: str, kern: str) -> None:
    naam = normaliseer_achternaam(raw)
    assert (naam.voorvoegsel, naam.kernnaam) == (voorvoegsel, kern)


@pytest.mark.parametrize(
    ("raw", "kern", "voorvoegsel"),
    [
        ("Le", "le", ""),  # Vietnamese Lê: a voorvoegsel word that is the whole name
        ("Du", "du", ""),
        ("Van", "van", ""),
        ("van Le", "le", "van"),
        ("De La", "la", "de"),
        ("'t", "t", ""),
    ],
)
def test_a_name_of_only_voorvoegsel_words_keeps_its_last_word(raw: str, kern: str, voorvoegsel: str) -> None:
    naam = normaliseer_achternaam(raw)
    assert (naam.kernnaam, naam.voorvoegsel) == (kern, voorvoegsel)


@pytest.mark.parametrize(
    ("raw", "matchnamen"),
    [
        ("Jansen-de Vries", ("jansen", "vries", "jansenvries")),
        ("Jansen - de Vries", ("jansen", "vries", "jansenvries")),
        ("Jansen de Vries", ("jansen", "vries", "jansenvries")),
        ("JANSEN-DE VRIES", ("jansen", "vries", "jansenvries")),
        ("de Vries-Jansen", ("vries", "jansen", "vriesjansen")),
        ("Vries-Jansen, de", ("vries", "jansen", "vriesjansen")),  # = "de Vries-Jansen"
        ("van den Berg-van Dijk", ("berg", "dijk", "bergdijk")),
        ("Müller-Lüdenscheidt", ("muller", "ludenscheidt", "mullerludenscheidt")),
        ("Garcia Lopez", ("garcia", "lopez", "garcialopez")),
        ("Jansen-Le", ("jansen", "le", "jansenle")),  # a trailing part after a hyphen stays
        ("Jansen-Jansen", ("jansen", "jansenjansen")),  # no repeated names
        (
            "da Silva dos Santos Pereira Costa",  # at most three parts get a key of their own
            ("silva", "santos", "pereira", "silvasantospereiracosta"),
        ),
    ],
)
def test_double_names_give_one_match_name_per_part_and_the_parts_joined(
    raw: str, matchnamen: tuple[str, ...]
) -> None:
    assert normaliseer_achternaam(raw).matchnamen == matchnamen


def test_double_name_kernnaam_and_voorvoegsel_are_the_first_parts() -> None:
    naam = normaliseer_achternaam("van den Berg-de Vries")
    assert (naam.voorvoegsel, naam.kernnaam) == ("van den", "berg")
    assert [(d.voorvoegsel, d.kern) for d in naam.delen] == [("van den", "berg"), ("de", "vries")]
    assert naam.tekst == "van den berg-de vries"


@pytest.mark.parametrize(
    "raw",
    [
        "van den Berg",
        "Berg, van den",
        "Jansen-de Vries",
        "Jansen de Le",
        "Jansen-de Le",
        "'s-Gravesande",
        "d'Ancona",
        "v.d. Berg",
        "De La",
        "'t",
        "Le-Jansen-Le",
        "da Silva dos Santos Pereira",
    ],
)
def test_normalisation_is_idempotent(raw: str) -> None:
    eens = normaliseer_achternaam(raw)
    assert normaliseer_achternaam(eens.tekst) == eens
    assert normaliseer_achternaam(eens.tekst).tekst == eens.tekst


@pytest.mark.parametrize("raw", ["", "   ", "-", "'", "123", "Иванов", "..,--"])
def test_surname_without_latin_letters_is_rejected(raw: str) -> None:
    with pytest.raises(ValidationError) as fout:
        normaliseer_achternaam(raw)
    assert [v.field for v in fout.value.violations] == ["achternaam"]


def test_repr_does_not_show_the_name() -> None:
    naam = normaliseer_achternaam("van den Berg-de Vries")
    assert "berg" not in repr(naam).lower()
    assert "vries" not in repr(naam.delen[1]).lower()


@pytest.mark.parametrize(
    ("voornamen", "verwacht"),
    [
        ("Éva Maria", "e"),
        ("eva", "e"),
        ("Ĳsbrand", "i"),
        ("Øystein", "o"),
        ("Ærøn", "a"),
        ("J.M.", "j"),
        ("  Jan Peter", "j"),
        ("(Jan)", "j"),
        ("Şükrü", "s"),
    ],
)
def test_initiaal_is_the_folded_first_letter(voornamen: str, verwacht: str) -> None:
    assert initiaal(voornamen) == verwacht


@pytest.mark.parametrize("voornamen", ["", " ", "—", "Мария"])
def test_initiaal_needs_a_latin_letter(voornamen: str) -> None:
    with pytest.raises(ValidationError) as fout:
        initiaal(voornamen)
    assert [v.field for v in fout.value.violations] == ["voornamen"]


def test_voorvoegsel_list_holds_the_documented_words() -> None:
    for woord in ["van", "de", "der", "den", "ter", "ten", "te", "'t", "het", "in", "op", "uit"]:
        assert is_voorvoegsel(woord)
    for woord in ["la", "le", "du", "d'", "von", "dos", "el"]:
        assert is_voorvoegsel(woord)
    # Surname words that only look like particles stay names.
    for woord in ["berg", "jansen", "mac", "mc", "o", "t", "s"]:
        assert not is_voorvoegsel(woord)
    assert all(w == vouw(w) and " " not in w for w in VOORVOEGSEL_WOORDEN)
