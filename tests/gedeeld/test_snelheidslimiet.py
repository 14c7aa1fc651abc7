from __future__ import annotations

import math

import pytest

from gedeeld.federatie.snelheidslimiet import Emmer, Limiet, Limieten


class Klok:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_burst_then_sustained_rate() -> None:
    klok = Klok()
    emmer = Emmer(Limiet(per_seconde=10, burst=50), klok)

    assert emmer.neem(50) == 0.0  # bulk onboarding: the whole burst at once
    wacht = emmer.neem(5)
    assert wacht == pytest.approx(0.5)
    klok.t += 0.5
    assert emmer.neem(5) == 0.0
    assert emmer.neem(1) > 0


def test_refill_never_exceeds_burst() -> None:
    klok = Klok()
    emmer = Emmer(Limiet(per_seconde=10, burst=20), klok)
    emmer.neem(20)
    klok.t += 3600
    assert emmer.neem(20) == 0.0
    assert emmer.neem(1) > 0


def test_request_larger_than_burst_is_never_granted() -> None:
    emmer = Emmer(Limiet(per_seconde=10, burst=20), Klok())
    assert math.isinf(emmer.neem(21))


def test_regions_have_separate_buckets() -> None:
    limieten = Limieten(Limiet(per_seconde=1, burst=2), Klok())
    assert limieten.neem("aa", 2) == 0.0
    assert limieten.neem("aa", 1) > 0
    assert limieten.neem("bb", 2) == 0.0


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        Limiet(per_seconde=0, burst=5)
