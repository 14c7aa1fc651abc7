"""The counts before noise: a fixed grid, and one casus changes at most SENSITIVITEIT cells by 1."""

from __future__ import annotations

import random

import pytest

from gedeeld.fouten import ValidationError
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import trend_pb2 as T
from services.trendradar.tellen import SENSITIVITEIT, Periode, duur_klasse, raster, tel, zonder
from tests.trendradar.feiten import BEGIN, NOVEMBER, alles_in, samen, willekeurig


def test_periode_is_read_strictly_and_steps_over_the_year() -> None:
    assert str(Periode.lees("2026-11")) == "2026-11"
    assert Periode(2026, 12).volgende() == Periode(2027, 1)
    assert Periode(2027, 1).vorige() == Periode(2026, 12)
    for slecht in ("2026-13", "2026-1", "26-11", "2026-00", "november", ""):
        with pytest.raises(ValidationError):
            Periode.lees(slecht)


def test_the_grid_is_fixed_and_a_casus_that_does_everything_changes_exactly_sensitivity_cells() -> None:
    cellen = raster()
    assert len(cellen) == len(set(cellen)) == 5 * (1 + 7 + 3) + 6
    feiten = samen(alles_in(NOVEMBER, "a"), alles_in(NOVEMBER, "b", thema=S.THEMA_JEUGD))
    met, zonder_a = tel(feiten, NOVEMBER), tel(zonder(feiten, "a"), NOVEMBER)
    assert list(met) == cellen == list(zonder_a)  # the same cells, whatever the data
    verschil = {c: met[c] - zonder_a[c] for c in cellen if met[c] != zonder_a[c]}
    assert len(verschil) == SENSITIVITEIT == 16
    assert set(verschil.values()) == {1}
    # Two ZEKER matches of one casus count once; the agreement took 9 days: class [7, 14).
    assert met[(T.TREND_MAAT_MATCH_ZEKER, 0, 0, 0)] == 2
    assert met[(T.TREND_MAAT_DUUR_TOT_SAMENWERKING, 0, 0, 1)] == 2
    assert met[(T.TREND_MAAT_NIEUW, S.THEMA_JEUGD, 0, 0)] == 1
    # Nothing of it falls in the month before.
    assert not any(tel(feiten, NOVEMBER.vorige()).values())


def test_removing_any_casus_changes_at_most_sensitivity_cells_by_one() -> None:
    r = random.Random(14)
    feiten = willekeurig(r, 300, BEGIN, 6)
    periodes = [Periode(2026, m) for m in range(6, 12)]
    volledig = {p: tel(feiten, p) for p in periodes}
    for c in r.sample(list(feiten.casussen), 60):
        buur = zonder(feiten, c.casus_id)
        for p in periodes:
            z = tel(buur, p)
            verschil = [volledig[p][k] - z[k] for k in z]
            assert all(v in (0, 1) for v in verschil)
            assert sum(verschil) <= SENSITIVITEIT


@pytest.mark.parametrize(
    ("dagen", "klasse"), [(0, 0), (6.99, 0), (7, 1), (13.5, 1), (29, 2), (59, 3), (89, 4), (90, 5), (400, 5)]
)
def test_duration_classes(dagen: float, klasse: int) -> None:
    assert duur_klasse(dagen) == klasse
