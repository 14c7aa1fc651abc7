"""Shamir t-of-n sharing over the ristretto255 scalar field, and Lagrange coefficients.

Field arithmetic only (ints mod the group order); commitments k_i·G go through libsodium.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from gedeeld.crypto.groep import ORDE, Element, Scalar
from gedeeld.fouten import CryptoError


@dataclass(frozen=True)
class Sleuteldeel:
    """Share ``index`` (1..n) of the federation key."""

    index: int
    waarde: Scalar

    def __repr__(self) -> str:
        return f"Sleuteldeel(index={self.index}, <verborgen>)"

    @property
    def commitment(self) -> Element:
        return Element.basis_maal(self.waarde)


def splits(geheim: Scalar, drempel: int, aantal: int) -> list[Sleuteldeel]:
    """Split into ``aantal`` shares of which any ``drempel`` recover the secret."""
    if not 1 <= drempel <= aantal < 256:
        raise CryptoError("need 1 <= threshold <= number of shares < 256")
    coeff = [geheim.als_int()] + [secrets.randbelow(ORDE) for _ in range(drempel - 1)]
    delen = []
    for i in range(1, aantal + 1):
        y = 0
        for c in reversed(coeff):  # Horner
            y = (y * i + c) % ORDE
        delen.append(Sleuteldeel(i, Scalar.van_int(y)))
    return delen


def lagrange(index: int, indices: Iterable[int], x: int = 0) -> Scalar:
    """The coefficient of share ``index`` for interpolating at ``x`` (the secret: 0) over ``indices``."""
    idx = list(indices)
    if index not in idx or len(set(idx)) != len(idx) or any(not 0 < i < ORDE for i in idx):
        raise CryptoError("invalid share indices")
    teller, noemer = 1, 1
    for j in idx:
        if j != index:
            teller = teller * (j - x) % ORDE
            noemer = noemer * (j - index) % ORDE
    return Scalar.van_int(teller * pow(noemer, -1, ORDE))


def herstel(delen: Iterable[Sleuteldeel]) -> Scalar:
    """Recombine the secret from shares (used in tests; production never does this)."""
    lijst = list(delen)
    indices = [d.index for d in lijst]
    return Scalar.van_int(sum(d.waarde.als_int() * lagrange(d.index, indices).als_int() for d in lijst))
