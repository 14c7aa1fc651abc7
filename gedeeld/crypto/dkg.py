"""The math of distributed key generation and resharing (GJKR over ristretto255).

A dealer holds two random polynomials a, b of degree t-1 (for a resharing, a(0) is its own
share of k). It publishes Pedersen commitments ``C_k = a_k·G + b_k·H`` (hiding: they say
nothing about a(0)) and gives receiver j the pair ``(a(j), b(j))``. Receiver j checks
``a(j)·G + b(j)·H == Σ_k j^k·C_k``. After complaints and the qualified set are settled, the
dealer publishes Feldman commitments ``A_k = a_k·G`` and j checks ``a(j)·G == Σ_k j^k·A_k``.

``H`` is a second generator with nobody knowing its discrete log to G: hash-to-group of a
fixed string (RFC 9380, as the OPRF's HashToGroup). Group operations go through libsodium
(``groep``); only field arithmetic (polynomials, Lagrange) is done on ints modulo the order.
Nothing here ever holds the key k: a receiver's share is ``Σ w_i·a_i(j)`` over the dealers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gedeeld.crypto.groep import LENGTE, ORDE, Element, Scalar, hash_to_group
from gedeeld.crypto.shamir import Sleuteldeel, lagrange
from gedeeld.fouten import CryptoError

H = hash_to_group(b"zvh-dkg-pedersen-tweede-generator", b"HashToGroup-zvh-dkg-v1")
G = Element.basis_maal(Scalar.van_int(1))


class OngeldigDeel(CryptoError):
    """A share does not open its dealer's commitments."""


def som(elementen: Iterable[Element]) -> Element:
    totaal: Element | None = None
    for e in elementen:
        totaal = e if totaal is None else totaal + e
    if totaal is None:
        raise CryptoError("sum of no elements")
    return totaal


def in_exponent(commitments: Sequence[Element], j: int) -> Element:
    """``Σ_k j^k·C_k``: the commitment to the polynomial's value at j."""
    if not commitments or not 0 < j < 256:
        raise CryptoError("need commitments and an index 1..255")
    return som(c.maal(Scalar.van_int(pow(j, k, ORDE))) for k, c in enumerate(commitments))


@dataclass(frozen=True)
class OpenDeel:
    """What dealer i gives receiver j: ``s = a_i(j)`` and ``s' = b_i(j)``."""

    s: Scalar
    s_accent: Scalar

    def __repr__(self) -> str:
        return "OpenDeel(<verborgen>)"

    def als_bytes(self) -> bytes:
        return self.s.data + self.s_accent.data

    @classmethod
    def lees(cls, data: bytes) -> OpenDeel:
        if len(data) != 2 * LENGTE:
            raise CryptoError("a share pair is 64 bytes")
        return cls(Scalar.lees(data[:LENGTE]), Scalar.lees(data[LENGTE:]))


def _evalueer(coeff: Sequence[int], x: int) -> int:
    y = 0
    for c in reversed(coeff):  # Horner
        y = (y * x + c) % ORDE
    return y


@dataclass(frozen=True)
class Deling:
    """One dealer's secret polynomials. Lives only in the dealer's process, for one round."""

    _a: tuple[int, ...] = field(repr=False)
    _b: tuple[int, ...] = field(repr=False)

    def __repr__(self) -> str:
        return f"Deling(drempel={len(self._a)}, <verborgen>)"

    @classmethod
    def nieuw(cls, drempel: int, geheim: Scalar | None = None) -> Deling:
        """Random polynomials of degree ``drempel``-1; a(0) = ``geheim`` (resharing) or random."""
        if not 2 <= drempel < 256:
            raise CryptoError("the threshold must be between 2 and 255")
        a0 = geheim.als_int() if geheim is not None else 1 + secrets.randbelow(ORDE - 1)
        # Coefficients are non-zero so no commitment is the identity (which cannot be encoded).
        a = (a0, *(1 + secrets.randbelow(ORDE - 1) for _ in range(drempel - 1)))
        b = tuple(1 + secrets.randbelow(ORDE - 1) for _ in range(drempel))
        return cls(a, b)

    @property
    def drempel(self) -> int:
        return len(self._a)

    def pedersen(self) -> tuple[Element, ...]:
        return tuple(
            Element.basis_maal(Scalar.van_int(a)) + H.maal(Scalar.van_int(b))
            for a, b in zip(self._a, self._b, strict=True)
        )

    def feldman(self) -> tuple[Element, ...]:
        return tuple(Element.basis_maal(Scalar.van_int(a)) for a in self._a)

    def deel(self, j: int) -> OpenDeel:
        if not 0 < j < 256:
            raise CryptoError("share index must be 1..255")
        return OpenDeel(Scalar.van_int(_evalueer(self._a, j)), Scalar.van_int(_evalueer(self._b, j)))


def controleer_pedersen(j: int, deel: OpenDeel, commitments: Sequence[Element]) -> None:
    """Raise OngeldigDeel unless ``s·G + s'·H == Σ_k j^k·C_k``."""
    try:
        links = _basis(deel.s) + H.maal(deel.s_accent)
    except CryptoError:
        raise OngeldigDeel("share does not open the Pedersen commitments") from None
    if links != in_exponent(commitments, j):
        raise OngeldigDeel("share does not open the Pedersen commitments")


def controleer_feldman(j: int, s: Scalar, commitments: Sequence[Element]) -> None:
    """Raise OngeldigDeel unless ``s·G == Σ_k j^k·A_k``."""
    try:
        links = _basis(s)
    except CryptoError:
        raise OngeldigDeel("share does not match the Feldman commitments") from None
    if links != in_exponent(commitments, j):
        raise OngeldigDeel("share does not match the Feldman commitments")


def _basis(s: Scalar) -> Element:
    if s.als_int() == 0:
        raise CryptoError("zero scalar")
    return Element.basis_maal(s)


def gewichten(dealers: Iterable[int], herverdeling: bool) -> dict[int, Scalar]:
    """Weight of each qualified dealer's contribution: 1 for a new key (k = Σ a_i(0)), the
    Lagrange coefficient at 0 for a resharing (k = Σ λ_i·k_i over the dealers' old indices)."""
    lijst = sorted(dealers)
    if herverdeling:
        return {i: lagrange(i, lijst) for i in lijst}
    return {i: Scalar.van_int(1) for i in lijst}


def combineer_deel(index: int, ontvangen: Mapping[int, Scalar], w: Mapping[int, Scalar]) -> Sleuteldeel:
    """Receiver ``index``'s share of k from the qualified dealers' shares (by dealer index)."""
    if set(ontvangen) != set(w):
        raise CryptoError("a share from every qualified dealer is needed")
    waarde = sum(ontvangen[i].als_int() * w[i].als_int() for i in w) % ORDE
    if waarde == 0:
        raise CryptoError("the combined share is zero")
    return Sleuteldeel(index, Scalar.van_int(waarde))


def publiek_deel(index: int, feldman: Mapping[int, Sequence[Element]], w: Mapping[int, Scalar]) -> Element:
    """``k_j·G`` of receiver j, from the qualified dealers' Feldman commitments alone."""
    return som(in_exponent(feldman[i], index).maal(w[i]) for i in sorted(w))


def sleutel_commitment(feldman: Mapping[int, Sequence[Element]], w: Mapping[int, Scalar]) -> Element:
    """``k·G`` from the qualified dealers' Feldman commitments alone."""
    return som(feldman[i][0].maal(w[i]) for i in sorted(w))
