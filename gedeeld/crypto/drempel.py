"""Threshold OPRF: share holders evaluate with their share and prove it; the client
verifies, combines any t valid answers with Lagrange coefficients, unblinds and finalizes.

The client folds the unblinding into the Lagrange coefficients: token_j = H(x_j, Σ_i (λ_i·r_j⁻¹)·E_ij),
the inverses of all blinds from one batched (Montgomery) inversion in the scalar field. That is the
same element as r_j⁻¹·(Σ_i λ_i·E_ij) (the group has prime order), so the tokens are unchanged, and it
saves one scalar multiplication per token. ``gevouwen=False`` keeps the previous path for the bench.

Token = RFC 9497 mode-0 OPRF output of the federation key k on the match key:
the combined result equals ``oprf.oprf(k, x)`` exactly (tests/crypto). Proofs are
batched VOPRF (mode-1 context) DLEQ proofs against the holder's commitment k_i·G.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from gedeeld.crypto.groep import ORDE, Element, Scalar
from gedeeld.crypto.oprf import (
    Modus,
    Verblinding,
    controleer_bewijs,
    maak_bewijs,
    verblind,
    voltooi,
    voltooi_met,
)
from gedeeld.crypto.shamir import Sleuteldeel, lagrange
from gedeeld.fouten import CryptoError, InvalidProofError

# CPU-bound OPRF work runs here, off the event loop (libsodium releases the GIL). Two workers, the
# machine's cores: queued work is served in order, so under overload the first requests finish
# first instead of all of them finishing late together (what many threads would do).
P = ParamSpec("P")
R = TypeVar("R")
_WERKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="zvh-oprf")


async def in_werker(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn`` in the OPRF worker threads."""
    return await asyncio.get_running_loop().run_in_executor(_WERKERS, lambda: fn(*args, **kwargs))


def vorig_pad() -> bool:
    """``ZVH_OPRF_PAD=vorig``: the previous OPRF code path (client checks every answer it gets, unblinds
    separately, crypto on the event loop; holders recompute their commitment per request). Only for
    ``make bench``, to measure before and after side by side; the tokens are the same."""
    return os.environ.get("ZVH_OPRF_PAD", "") == "vorig"


@dataclass(frozen=True)
class DeelEvaluatie:
    """One holder's answer: k_i·B_j for each blinded element, and one batched proof."""

    index: int
    evaluaties: tuple[Element, ...]
    bewijs: bytes


def evalueer_deel(
    deel: Sleuteldeel, geblindeerd: Sequence[Element], commitment: Element | None = None
) -> DeelEvaluatie:
    """Holder side. A holder passes its ``commitment`` k_i·G, computed once; without it, it is
    recomputed (one extra scalar multiplication per request, the previous path)."""
    evaluaties = tuple(b.maal(deel.waarde) for b in geblindeerd)
    publiek = commitment if commitment is not None else deel.commitment
    bewijs = maak_bewijs(deel.waarde, publiek, geblindeerd, evaluaties, Modus.VOPRF)
    return DeelEvaluatie(deel.index, evaluaties, bewijs)


@dataclass
class Verzoek:
    """Client side: the blinded match keys of one batch."""

    invoer: tuple[bytes, ...]
    blinds: tuple[Verblinding, ...] = field(repr=False)

    @classmethod
    def maak(cls, invoer: Sequence[bytes]) -> Verzoek:
        return cls(tuple(invoer), tuple(verblind(x, Modus.OPRF) for x in invoer))

    @property
    def geblindeerd(self) -> list[Element]:
        return [b.geblindeerd for b in self.blinds]

    def controleer(self, antwoord: DeelEvaluatie, commitment: Element) -> None:
        """Raise InvalidProofError unless the answer is complete and its proof verifies."""
        if len(antwoord.evaluaties) != len(self.blinds):
            raise InvalidProofError("answer has the wrong number of evaluations")
        controleer_bewijs(commitment, self.geblindeerd, antwoord.evaluaties, antwoord.bewijs, Modus.VOPRF)

    def combineer(
        self, geldig: Mapping[int, DeelEvaluatie], drempel: int, *, gevouwen: bool = True
    ) -> list[bytes]:
        """Tokens from exactly ``drempel`` verified answers (by share index)."""
        if len(geldig) < drempel:
            raise CryptoError(f"{len(geldig)} valid answers, {drempel} needed")
        gekozen = sorted(geldig)[:drempel]
        coeff = {i: lagrange(i, gekozen) for i in gekozen}
        if gevouwen:
            return self._gevouwen(geldig, gekozen, coeff)
        tokens = []
        for j, b in enumerate(self.blinds):
            kb: Element | None = None
            for i in gekozen:
                term = geldig[i].evaluaties[j].maal(coeff[i])
                kb = term if kb is None else kb + term
            if kb is None:
                raise CryptoError("no answers to combine")
            tokens.append(voltooi(self.invoer[j], b.blind, kb))
        return tokens

    def _gevouwen(
        self, geldig: Mapping[int, DeelEvaluatie], gekozen: Sequence[int], coeff: Mapping[int, Scalar]
    ) -> list[bytes]:
        inversen = batch_inverse([b.blind.als_int() for b in self.blinds])
        lambdas = {i: coeff[i].als_int() for i in gekozen}
        tokens = []
        for j, r_inv in enumerate(inversen):
            n: Element | None = None
            for i in gekozen:
                term = geldig[i].evaluaties[j].maal(Scalar.van_int(lambdas[i] * r_inv))
                n = term if n is None else n + term
            if n is None:
                raise CryptoError("no answers to combine")
            tokens.append(voltooi_met(self.invoer[j], n))
        return tokens


def batch_inverse(waarden: Sequence[int]) -> list[int]:
    """The inverses mod the group order of all ``waarden`` with one modular inversion (Montgomery's
    trick: prefix products, one inverse, walk back)."""
    if any(w % ORDE == 0 for w in waarden):
        raise CryptoError("zero scalar has no inverse")
    prefix = [1]
    for w in waarden:
        prefix.append(prefix[-1] * w % ORDE)
    inv = pow(prefix[-1], -1, ORDE)
    uit = [0] * len(waarden)
    for j in range(len(waarden) - 1, -1, -1):
        uit[j] = inv * prefix[j] % ORDE
        inv = inv * waarden[j] % ORDE
    return uit
