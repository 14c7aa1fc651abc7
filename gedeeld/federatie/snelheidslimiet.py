"""Token buckets per requesting region: a sustained rate with a burst for bulk onboarding."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limiet:
    """``per_seconde`` tokens refill each second, up to ``burst``."""

    per_seconde: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_seconde <= 0 or self.burst < 1:
            raise ValueError("rate must be positive and burst at least 1")


class Emmer:
    """One token bucket. ``neem(n)`` returns 0.0 when granted, else seconds until it would be."""

    def __init__(self, limiet: Limiet, klok: Callable[[], float] = time.monotonic) -> None:
        self._limiet = limiet
        self._klok = klok
        self._tokens = limiet.burst
        self._laatst = klok()

    def neem(self, n: float = 1.0) -> float:
        nu = self._klok()
        self._tokens = min(self._limiet.burst, self._tokens + (nu - self._laatst) * self._limiet.per_seconde)
        self._laatst = nu
        if n > self._limiet.burst:
            return float("inf")  # can never be granted in one go
        if self._tokens >= n:
            self._tokens -= n
            return 0.0
        return (n - self._tokens) / self._limiet.per_seconde


class Limieten:
    """A bucket per key (the requesting region), created on first use."""

    def __init__(self, limiet: Limiet, klok: Callable[[], float] = time.monotonic) -> None:
        self._limiet = limiet
        self._klok = klok
        self._emmers: dict[str, Emmer] = {}

    def neem(self, sleutel: str, n: float = 1.0) -> float:
        emmer = self._emmers.get(sleutel)
        if emmer is None:
            emmer = self._emmers[sleutel] = Emmer(self._limiet, self._klok)
        return emmer.neem(n)
