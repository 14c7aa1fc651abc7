"""Differential privacy, checked empirically on the mechanism the node uses.

OpenDP's sampler cannot be seeded, so these tests are statistical. Every bound is checked with a
margin of 6 standard errors (one-sided); over the roughly thousand events tested the chance of a
false failure is below 1e-6. The margins are still tight enough to fail a mechanism with half the
noise it should have (see ``test_removing_one_casus_changes_the_release_by_at_most_e_to_the_epsilon``).
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from services.trendradar.privacy import Mechanisme, foutmarge, foutmarge_cel
from services.trendradar.publiceren import bescherm
from services.trendradar.tellen import SENSITIVITEIT, raster, tel, zonder
from tests.trendradar.feiten import NOVEMBER, alles_in, samen

TREKKINGEN = 20_000
Z = 6.0


def test_the_epsilon_charged_is_opendps_own_privacy_map() -> None:
    m = Mechanisme(1.0, SENSITIVITEIT)
    assert (m.schaal, m.epsilon) == (16.0, 1.0)
    # 16 / 0.7 rounds so that the map comes out a hair above 0.7: the noise is widened instead.
    m = Mechanisme(0.7, SENSITIVITEIT)
    assert m.epsilon <= 0.7
    assert m.schaal >= SENSITIVITEIT / 0.7


def test_one_cells_margin_is_the_smallest_that_covers_95_percent() -> None:
    m = Mechanisme(4.0, SENSITIVITEIT)  # scale 4
    k = foutmarge_cel(m.schaal)
    ruis = m.meet([0] * TREKKINGEN)
    binnen = sum(abs(x) <= k for x in ruis) / TREKKINGEN
    net_niet = sum(abs(x) <= k - 1 for x in ruis) / TREKKINGEN
    se = math.sqrt(0.95 * 0.05 / TREKKINGEN)
    assert binnen >= 0.95 - Z * se
    assert net_niet <= 0.95 + Z * se


def test_a_sums_margin_covers_at_least_what_it_states() -> None:
    schalen = [16.0, 16.0, 8.0, 32.0, 16.0]
    mechanismen = [Mechanisme(SENSITIVITEIT / s, SENSITIVITEIT) for s in schalen]
    trekkingen = [m.meet([0] * TREKKINGEN) for m in mechanismen]
    sommen = [sum(t) for t in zip(*trekkingen, strict=True)]
    for betrouwbaarheid in (0.9, 0.95, 0.99):
        h = foutmarge(schalen, betrouwbaarheid)
        se = math.sqrt(betrouwbaarheid * (1 - betrouwbaarheid) / TREKKINGEN)
        assert sum(abs(x) <= h for x in sommen) / TREKKINGEN >= betrouwbaarheid - Z * se


def _log_ratio_grens(p1: float, p2: float) -> float:
    # Standard error of log(p1/p2) for two independent proportions of TREKKINGEN draws (delta method).
    return Z * math.sqrt((1 - p1) / (TREKKINGEN * p1) + (1 - p2) / (TREKKINGEN * p2))


@pytest.mark.timeout(300)  # 2 × 1.2 million noise draws: about 25 s on a quiet machine
def test_removing_one_casus_changes_the_release_by_at_most_e_to_the_epsilon() -> None:
    """Neighbouring datasets D (40 casussen) and D' (one removed that touches all 16 cells it can):
    20,000 releases of each, drawn by the node's own ``bescherm`` (noise, then withholding)."""
    epsilon, drempel = 4.0, 10
    mechanisme = Mechanisme(epsilon, SENSITIVITEIT)
    per_cel = 1 / mechanisme.schaal  # the privacy loss one cell can carry: epsilon / 16
    d = samen(*(alles_in(NOVEMBER, f"c{i}") for i in range(40)))
    cellen = raster()
    waar, buur = tel(d, NOVEMBER), tel(zonder(d, "c0"), NOVEMBER)
    geraakt = [i for i, c in enumerate(cellen) if waar[c] != buur[c]]
    assert len(geraakt) == SENSITIVITEIT

    def trek(tellingen: dict[tuple[int, int, int, int], int]) -> list[list[int | None]]:
        vector = [tellingen[c] for c in cellen]
        uit = bescherm(mechanisme, vector * TREKKINGEN, drempel)
        # None: withheld (one outcome, whatever the noisy value was).
        return [[None if o else w for w, o in uit[j :: len(cellen)]] for j in range(len(cellen))]

    a, b = trek(waar), trek(buur)
    totaal_verlies = 0.0
    for j in geraakt:
        n = waar[cellen[j]]
        gezien = 0.0
        ca, cb = Counter(a[j]), Counter(b[j])
        waarden = sorted(w for w in set(ca) | set(cb) if w is not None)

        def kans(teller: Counter[int | None], boven: int | None, onder: int | None) -> float:
            # P(o >= boven), or P(o <= onder or withheld)
            if boven is not None:
                return sum(c for w, c in teller.items() if w is not None and w >= boven) / TREKKINGEN
            return (
                sum(c for w, c in teller.items() if w is None or (onder is not None and w <= onder))
                / TREKKINGEN
            )

        # Every tail event {o >= k} and {o <= k or withheld} with enough draws on both sides.
        for k in waarden:
            for p1, p2 in ((kans(ca, k, None), kans(cb, k, None)), (kans(ca, None, k), kans(cb, None, k))):
                if min(p1, p2) * TREKKINGEN < 1000 or max(p1, p2) > 0.99:
                    continue
                verlies = abs(math.log(p1 / p2))
                assert verlies <= per_cel + _log_ratio_grens(p1, p2), (j, k, verlies)
                gezien = max(gezien, verlies)
        # The loss is really there (the test could see too little noise): {o >= n} carries all of it.
        p1, p2 = kans(ca, n, None), kans(cb, n, None)
        assert math.log(p1 / p2) >= per_cel - _log_ratio_grens(p1, p2)
        totaal_verlies += gezien
    # The cells' noise is independent, so a whole release's likelihood ratio is the product of the
    # cells': the observed per-cell losses add up to at most epsilon (with the margins).
    assert totaal_verlies <= epsilon * 1.25

    # And directly on a release-level statistic: the sum of the touched cells, in bins.
    def histogram(trekkingen: list[list[int | None]]) -> Counter[int]:
        return Counter(math.floor(sum(trekkingen[j][i] or 0 for j in geraakt) / 8) for i in range(TREKKINGEN))

    ha, hb = histogram(a), histogram(b)
    getoetst = 0
    for bak in set(ha) & set(hb):
        if min(ha[bak], hb[bak]) >= 300:
            p1, p2 = ha[bak] / TREKKINGEN, hb[bak] / TREKKINGEN
            assert abs(math.log(p1 / p2)) <= epsilon + _log_ratio_grens(p1, p2)
            getoetst += 1
    assert getoetst >= 5
