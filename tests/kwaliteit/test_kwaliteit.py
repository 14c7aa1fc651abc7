"""Matching quality (issue 7): the synthetic generator, its error model, and the targets.

The targets are asserted on 5 000 persons (seed 1), not fewer: with 2 000 the
no-BSN pairs number about 120 and the recall moves between 0.91 and 0.97 from
seed to seed, which says more about the sample than about the keys.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest

from bench.kwaliteit import (
    NEUTRAAL_VOOR_NAAMSLEUTELS,
    ZEKER,
    basislijn,
    bouw_registraties,
    evalueer,
    gevonden_paren,
    main,
)
from bench.synthetisch import (
    ACHTERNAMEN,
    Foutkansen,
    Generator,
    Persoon,
    alleen_eerste_voornaam,
    ander_bsn,
    bsn_notatie,
    datum_tikfout,
    een_deel_van_dubbele_naam,
    hoofdletters,
    maak_bsn,
    registreer,
    roepnaam,
    tikfout,
    voldoet_aan_elfproef,
    voorletters,
    voorvoegsel_achteraan,
    wissel_dag_maand,
    zonder_diakrieten,
)
from gedeeld.identiteit import (
    PersoonsGegevens,
    SleutelType,
    is_geldig_bsn,
    leid_matchsleutels,
    normaliseer_achternaam,
    valideer_bsn,
)

ZAAD = 1
PERSONEN = 5_000


def personen(aantal: int, zaad: int = ZAAD, *, aandeel_zonder_bsn: float = 0.10) -> list[Persoon]:
    gen = Generator(random.Random(zaad), aandeel_zonder_bsn=aandeel_zonder_bsn)
    return [gen.persoon() for _ in range(aantal)]


def gegevens(p: Persoon) -> PersoonsGegevens:
    return PersoonsGegevens(p.bsn, p.achternaam, p.voornamen, p.geboortedatum)


def naamsleutels(g: PersoonsGegevens) -> set[bytes]:
    return {s.waarde for s in leid_matchsleutels(g) if s.type is not SleutelType.BSN}


# --- the generator ---


def test_generated_bsns_pass_the_elfproef_and_are_unique() -> None:
    lijst = personen(5_000)
    bsns = [p.bsn for p in lijst if p.bsn is not None]
    assert all(is_geldig_bsn(b) for b in bsns)
    assert len(set(bsns)) == len(bsns)
    # The configured share goes without: 10 % by default, +- sampling noise.
    assert 0.08 < 1 - len(bsns) / len(lijst) < 0.12
    assert all(p.bsn is None for p in personen(200, aandeel_zonder_bsn=1.0))


def test_own_elfproef_agrees_with_the_one_measured() -> None:
    # The generator has its own 11-proef so that it does not lean on the code under test.
    r = random.Random(5)
    kandidaten = [f"{r.randrange(10**9):09d}" for _ in range(5_000)] + ["000000000", "123456782"]
    assert [voldoet_aan_elfproef(k) for k in kandidaten] == [is_geldig_bsn(k) for k in kandidaten]
    assert all(is_geldig_bsn(maak_bsn(r)) for _ in range(1_000))


def test_generator_is_deterministic_under_a_seed() -> None:
    assert personen(300) == personen(300)
    assert personen(300) != personen(300, zaad=ZAAD + 1)
    assert bouw_registraties(500, 7) == bouw_registraties(500, 7)
    # Another error rate leaves the population and the spread over regions as they were.
    ander = bouw_registraties(500, 7, kansen=Foutkansen.geen())
    assert [(r.persoon, r.regio) for r in ander] == [(r.persoon, r.regio) for r in bouw_registraties(500, 7)]


def test_population_is_realistic() -> None:
    lijst = personen(20_000)
    namen = Counter(p.achternaam for p in lijst)
    assert len(ACHTERNAMEN) >= 150
    assert 0.003 < namen["de Jong"] / len(lijst) < 0.007  # about 0.5 % of the Dutch are called de Jong
    assert len(namen) > 3_000  # a long tail, or different people would share names far too often
    dubbel = sum("-" in p.achternaam and not p.achternaam.startswith("'s-") for p in lijst)
    assert 0.04 < dubbel / len(lijst) < 0.08
    met_voorvoegsel = sum(bool(normaliseer_achternaam(p.achternaam).voorvoegsel) for p in lijst)
    assert met_voorvoegsel / len(lijst) > 0.15
    assert (
        sum(zonder_diakrieten(p.achternaam + p.voornamen) != p.achternaam + p.voornamen for p in lijst) > 200
    )
    initialen = Counter(p.voornamen[0] for p in lijst)
    assert initialen.most_common(1)[0][0] in "JMA"
    jaren = [p.geboortedatum.year for p in lijst]
    assert min(jaren) >= 1945
    assert max(jaren) <= 2010


# --- the errors, one by one ---


@pytest.mark.parametrize(
    ("origineel", "verwacht"),
    [
        (date(1990, 3, 5), date(1990, 5, 3)),
        (date(1990, 12, 1), date(1990, 1, 12)),
        (date(1990, 3, 13), None),  # the 13th month does not exist: no register would swap it
        (date(1990, 4, 4), None),  # a swap changes nothing
    ],
)
def test_wissel_dag_maand(origineel: date, verwacht: date | None) -> None:
    assert wissel_dag_maand(origineel) == verwacht


@pytest.mark.parametrize(
    ("naam", "verwacht"),
    [
        ("van den Berg", "Berg, van den"),
        ("'t Hart", "Hart, 't"),
        ("in 't Veld", "Veld, in 't"),
        ("El Amrani", "Amrani, El"),
        ("Jansen", None),
        ("Jansen-de Vries", None),  # the inverted form is for single names
        ("'s-Gravesande", None),
        ("d'Ancona", None),
    ],
)
def test_voorvoegsel_achteraan(naam: str, verwacht: str | None) -> None:
    assert voorvoegsel_achteraan(naam) == verwacht
    if verwacht is not None:
        # Alone, the reordering and any capitalisation give the very same keys.
        eerst = PersoonsGegevens(None, naam, "Éva", date(1990, 3, 5))
        for variant in (verwacht, verwacht.upper(), hoofdletters(naam, random.Random(0)), naam.title()):
            assert naamsleutels(eerst) == naamsleutels(
                PersoonsGegevens(None, variant, "Éva", date(1990, 3, 5))
            )


def test_swapped_day_and_month_still_share_a_key() -> None:
    eerst = PersoonsGegevens(None, "Jansen", "Jan", date(1984, 2, 11))
    gewisseld = wissel_dag_maand(eerst.geboortedatum)
    assert gewisseld is not None
    later = PersoonsGegevens(None, "Jansen", "Jan", gewisseld)
    gedeeld = {s.type for s in leid_matchsleutels(eerst)} & {
        s.type for s in leid_matchsleutels(later) if s.waarde in naamsleutels(eerst)
    }
    assert gedeeld == {SleutelType.NAAM_DATUM_GEWISSELD, SleutelType.FONETISCH_DATUM_GEWISSELD}


def test_zonder_diakrieten() -> None:
    assert zonder_diakrieten("Éva Noë Ĳzerman Yılmaz Şahin Groß Çelik Nguyễn") == (
        "Eva Noe IJzerman Yilmaz Sahin Gross Celik Nguyen"
    )


@pytest.mark.parametrize("naam", ["Jansen", "van der Meer", "Berg, van den", "Jansen-de Vries", "Yılmaz"])
def test_tikfout_is_one_keyboard_slip_in_a_name_word(naam: str) -> None:
    r = random.Random(3)
    soorten: Counter[str] = Counter()
    for _ in range(400):
        uitkomst = tikfout(naam, r)
        assert uitkomst is not None
        getypt, soort = uitkomst
        soorten[soort] += 1
        assert getypt != naam
        oud, nieuw = naam.split(" "), getypt.split(" ")
        assert len(oud) == len(nieuw)
        anders = [i for i, (a, b) in enumerate(zip(oud, nieuw, strict=True)) if a != b]
        assert len(anders) == 1  # one word touched, and not a voorvoegsel
        a, b = oud[anders[0]], nieuw[anders[0]]
        if soort == "tikfout_invoegen":
            assert any(b[:i] + b[i + 1 :] == a for i in range(len(b)))
        elif soort == "tikfout_weglaten":
            assert any(a[:i] + a[i + 1 :] == b for i in range(len(a)))
        elif soort == "tikfout_vervangen":
            assert len(a) == len(b)
            assert sum(x != y for x, y in zip(a, b, strict=True)) == 1
        else:
            assert soort == "tikfout_verwisselen"
            i = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            assert b == a[:i] + a[i + 1] + a[i] + a[i + 2 :]
        assert normaliseer_achternaam(getypt).voorvoegsel == normaliseer_achternaam(naam).voorvoegsel or (
            # "Jansen-de Vries": a slip in "Jansen-de" may hit the "de"
            "-" in naam
        )
    assert set(soorten) == {
        "tikfout_invoegen",
        "tikfout_weglaten",
        "tikfout_vervangen",
        "tikfout_verwisselen",
    }


def test_tikfout_needs_a_name_word() -> None:
    assert tikfout("Li", random.Random(0)) is None  # too short to mistype into something else
    assert tikfout("van der", random.Random(0)) is None


def test_name_shortenings() -> None:
    r = random.Random(0)
    assert {een_deel_van_dubbele_naam("Jansen-de Vries", r) for _ in range(50)} == {"Jansen", "de Vries"}
    assert een_deel_van_dubbele_naam("de Vries", r) is None
    assert alleen_eerste_voornaam("Johannes Cornelis") == "Johannes"
    assert alleen_eerste_voornaam("Johannes") is None
    assert voorletters("Johannes Cornelis") == "J.C."
    assert {roepnaam("Cornelis Johannes", r) for _ in range(50)} == {"Kees", "Cor", "Cees"}
    assert roepnaam("Daan", r) is None


def test_datum_tikfout_moves_one_part_by_one() -> None:
    r = random.Random(0)
    d = date(1990, 1, 31)
    for _ in range(200):
        nieuw = datum_tikfout(d, r)
        verschil = [
            abs(nieuw.year - d.year),
            abs(nieuw.month - d.month),
            abs(nieuw.day - d.day),
        ]
        assert sorted(verschil) == [0, 0, 1]


def test_bsn_errors() -> None:
    r = random.Random(0)
    for _ in range(200):
        bsn = maak_bsn(r)
        assert valideer_bsn(bsn_notatie(bsn, r)) == bsn  # formatting only: the node normalises it
        fout = ander_bsn(bsn, r)
        assert fout != bsn
        assert is_geldig_bsn(fout)  # a wrong BSN the 11-proef lets through


def test_foutkansen_refuses_unknown_errors_and_bad_chances() -> None:
    assert Foutkansen().met("tikfout", 0.5).tikfout == 0.5
    with pytest.raises(ValueError, match="unknown error"):
        Foutkansen().met("typo", 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Foutkansen().met("tikfout", 1.5)


def test_registration_without_errors_is_the_truth() -> None:
    r = random.Random(0)
    for p in personen(300):
        reg = registreer(p, "wvv", r, Foutkansen.geen())
        assert reg.fouten == ()
        assert reg.gegevens() == gegevens(p)


def test_registration_records_the_errors_it_applied() -> None:
    r = random.Random(0)
    kansen = Foutkansen.geen().met("dag_maand_gewisseld", 1.0)
    gewisseld = 0
    for p in personen(500):
        reg = registreer(p, "wvv", r, kansen)
        verwacht = wissel_dag_maand(p.geboortedatum)
        assert reg.fouten == (() if verwacht is None else ("dag_maand_gewisseld",))
        assert reg.geboortedatum == (verwacht or p.geboortedatum)
        gewisseld += verwacht is not None
    assert gewisseld > 100


@pytest.mark.parametrize("fout", sorted(NEUTRAAL_VOOR_NAAMSLEUTELS))
def test_neutral_errors_leave_the_name_keys_alone(fout: str) -> None:
    # The evaluation leaves these out when it names the cause of a missed pair;
    # that is only right if, alone, they never change a name key.
    r = random.Random(0)
    kansen = Foutkansen.geen().met(fout, 1.0)
    toegepast = 0
    for p in personen(2_000):
        reg = registreer(p, "wvv", r, kansen)
        toegepast += fout in reg.fouten
        assert naamsleutels(reg.gegevens()) == naamsleutels(gegevens(p)), reg.fouten
    assert toegepast >= 30, f"{fout} was hardly ever applicable"


# --- the evaluation ---


def test_inverted_index_finds_exactly_the_cross_region_pairs_that_share_a_key() -> None:
    kansen = Foutkansen().met("tikfout", 0.3).met("datum_tikfout", 0.2)
    registraties = bouw_registraties(400, 11, kansen=kansen)
    sleutels = [{s.waarde: s.type for s in leid_matchsleutels(r.gegevens())} for r in registraties]
    verwacht = {}
    for a, b in combinations(range(len(registraties)), 2):
        gedeeld = sleutels[a].keys() & sleutels[b].keys()
        if gedeeld and registraties[a].regio != registraties[b].regio:
            verwacht[(a, b)] = {sleutels[a][w] for w in gedeeld}
    gevonden, geweigerd = gevonden_paren(registraties)
    assert geweigerd == 0
    assert gevonden == verwacht
    assert len(verwacht) > 50
    # ZEKER is exactly "the same valid BSN": the BSN-only baseline.
    assert {p for p, typen in gevonden.items() if SleutelType.BSN in typen} == basislijn(registraties)


def test_matching_quality_meets_the_targets_of_issue_7() -> None:
    uitslag = evalueer(bouw_registraties(PERSONEN, ZAAD))
    # Not vacuous: enough pairs of each kind to measure a recall on.
    assert uitslag.recall[ZEKER].noemer > 800
    assert uitslag.recall["zonder_bsn"].noemer > 250
    assert uitslag.geweigerd == 0
    for doel in uitslag.doelen:
        assert doel.gehaald, f"{doel.naam}: {doel.meting.tekst()} < {doel.minimum} ({doel.meting})"
    # The keys must beat the BSN alone by what the no-BSN pairs are worth.
    assert uitslag.recall["totaal"].waarde is not None
    assert uitslag.basislijn_recall.waarde is not None
    assert uitslag.recall["totaal"].waarde > uitslag.basislijn_recall.waarde + 0.15


def test_missed_pairs_are_reported_by_error_names_only() -> None:
    kansen = Foutkansen().met("tikfout", 0.5)
    uitslag = evalueer(bouw_registraties(1_000, ZAAD, kansen=kansen))
    assert uitslag.gemist
    namen = set(Foutkansen.namen()) | {"tikfout_invoegen", "tikfout_weglaten", "tikfout_vervangen"}
    namen |= {"tikfout_verwisselen", "dubbele_naam_een_deel"}
    for tekst in [*uitslag.gemist, *uitslag.voorbeelden]:
        woorden = set(re.findall(r"[a-z_]{4,}", tekst)) - {"either", "both", "name", "error"}
        assert woorden <= namen, woorden


def test_cli_merges_its_figures_into_the_json_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pad = tmp_path / "results.json"
    pad.write_text(json.dumps({"oprf": {"single-key OPRF token": {"per_second": 1.0}}}))
    assert main(["--personen", "300", "--seed", "2", "--kans", "tikfout=0.1", "--json", str(pad)]) == 0
    doc = json.loads(pad.read_text())
    assert doc["oprf"] == {"single-key OPRF token": {"per_second": 1.0}}
    assert doc["kwaliteit"]["seed"] == 2
    assert doc["kwaliteit"]["error_chances"]["tikfout"] == 0.1
    assert set(doc["kwaliteit"]["targets"]) == {
        "ZEKER recall",
        "ZEKER precision",
        "recall without BSN",
        "WAARSCHIJNLIJK precision",
    }
    assert "targets (issue 7)" in capsys.readouterr().out
