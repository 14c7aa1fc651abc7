"""The noise: OpenDP's Laplace mechanism on integer counts (internally the discrete Laplace), and
the error bounds that go with it.

``Mechanisme(epsilon, sensitiviteit)`` adds independent discrete Laplace noise of scale
``b = sensitiviteit / epsilon`` to every cell. OpenDP's own privacy map checks the arithmetic: the
epsilon recorded in the ledger is what OpenDP says the measurement costs for inputs that differ by
``sensitiviteit`` in L1 distance, never more than asked. The noise comes from OpenDP's
cryptographically secure sampler and cannot be seeded; tests therefore check distributions with
margins (tests/trendradar/test_privacy.py).

Discrete Laplace with scale b: P(X = k) = (1 − α)/(1 + α) · α^|k| with α = e^(−1/b).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any


@functools.cache
def _opendp() -> ModuleType:
    # Loaded on first use: its native library costs every importer (zvhctl, the node) time otherwise.
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


class Mechanisme:
    """One release's measurement: the same noise scale on every cell of a fixed-length vector."""

    def __init__(self, epsilon: float, sensitiviteit: int) -> None:
        if epsilon <= 0 or sensitiviteit < 1:
            raise ValueError("epsilon must be positive and the sensitivity at least 1")
        dp = _opendp()
        ruimte = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
        schaal = sensitiviteit / epsilon
        meting = ruimte >> dp.m.then_laplace(scale=schaal)
        # Floating point may put the map a hair above epsilon: widen the noise until it is not.
        while meting.map(sensitiviteit) > epsilon:
            schaal = math.nextafter(schaal, math.inf)
            meting = ruimte >> dp.m.then_laplace(scale=schaal)
        self._meting: Any = meting
        self.schaal = schaal
        self.sensitiviteit = sensitiviteit
        self.epsilon = float(meting.map(sensitiviteit))

    def meet(self, waarden: Sequence[int]) -> list[int]:
        return [int(v) for v in self._meting(list(waarden))]


def alfa(schaal: float) -> float:
    return math.exp(-1.0 / schaal)


def staart(schaal: float, k: int) -> float:
    """P(|X| > k) for one cell's discrete Laplace noise."""
    a = alfa(schaal)
    return 2 * a ** (k + 1) / (1 + a)


def foutmarge_cel(schaal: float, betrouwbaarheid: float = 0.95) -> int:
    """The smallest k with P(|X| ≤ k) ≥ betrouwbaarheid (exact, one cell)."""
    a = alfa(schaal)
    k = math.ceil(math.log((1 - betrouwbaarheid) * (1 + a) / 2) / math.log(a) - 1)
    while k > 0 and staart(schaal, k - 1) <= 1 - betrouwbaarheid:
        k -= 1
    while staart(schaal, k) > 1 - betrouwbaarheid:
        k += 1
    return max(k, 0)


def _log_mgf(schaal: float, t: float) -> float:
    # E[e^{tX}] of the discrete Laplace: (1 − α)² / ((1 − α e^t)(1 − α e^{−t})), for t < 1/b.
    a = alfa(schaal)
    return 2 * math.log1p(-a) - math.log1p(-a * math.exp(t)) - math.log1p(-a * math.exp(-t))


def _chernoff(schalen: Sequence[float], x: float) -> float:
    """An upper bound on P(S ≥ x) for the sum S of independent noises (min over t of e^{−tx} M(t))."""
    grens = 1.0 / max(schalen)
    lo, hi = 0.0, grens * (1 - 1e-9)

    def f(t: float) -> float:
        return -t * x + sum(_log_mgf(b, t) for b in schalen)

    for _ in range(100):  # f is convex in t: ternary search
        m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        if f(m1) < f(m2):
            hi = m2
        else:
            lo = m1
    return min(1.0, math.exp(f((lo + hi) / 2)))


def foutmarge(schalen: Sequence[float], betrouwbaarheid: float = 0.95) -> float:
    """Half-width h with P(|sum of the noises| ≤ h) ≥ betrouwbaarheid.

    One cell: exact. Several (a national total, a sum over cells): a Chernoff bound on each tail,
    which is rigorous and somewhat wider than the true quantile.
    """
    # Regions mostly share one scale: the picture asks the same question hundreds of times.
    return _foutmarge(tuple(sorted(schalen)), betrouwbaarheid)


@functools.lru_cache(maxsize=1024)
def _foutmarge(schalen: tuple[float, ...], betrouwbaarheid: float) -> float:
    if not schalen:
        return 0.0
    if len(schalen) == 1:
        return float(foutmarge_cel(schalen[0], betrouwbaarheid))
    doel = (1 - betrouwbaarheid) / 2
    lo, hi = 0.0, 1.0
    while _chernoff(schalen, hi) > doel:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if _chernoff(schalen, mid) > doel:
            lo = mid
        else:
            hi = mid
    return math.ceil(hi)


def onderdruk(ruis: int, drempel: int) -> tuple[int, bool]:
    """Post-processing of one noisy count: withheld below the threshold, never negative.

    Decided on the noisy value only; deciding on the true count would leak it.
    """
    if drempel > 0 and ruis < drempel:
        return 0, True
    return max(ruis, 0), False
