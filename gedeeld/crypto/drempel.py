"""Threshold OPRF: share holders evaluate with their share and prove it; the client
verifies, combines any t valid answers with Lagrange coefficients, unblinds and finalizes.

Token = RFC 9497 mode-0 OPRF output of the federation key k on the match key:
the combined result equals ``oprf.oprf(k, x)`` exactly (tests/crypto). Proofs are
batched VOPRF (mode-1 context) DLEQ proofs against the holder's commitment k_i·G.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gedeeld.crypto.groep import Element
from gedeeld.crypto.oprf import Modus, Verblinding, controleer_bewijs, maak_bewijs, verblind, voltooi
from gedeeld.crypto.shamir import Sleuteldeel, lagrange
from gedeeld.errors import CryptoError, InvalidProofError


@dataclass(frozen=True)
class DeelEvaluatie:
    """One holder's answer: k_i·B_j for each blinded element, and one batched proof."""

    index: int
    evaluaties: tuple[Element, ...]
    bewijs: bytes


def evalueer_deel(deel: Sleuteldeel, geblindeerd: Sequence[Element]) -> DeelEvaluatie:
    """Holder side."""
    evaluaties = tuple(b.maal(deel.waarde) for b in geblindeerd)
    bewijs = maak_bewijs(deel.waarde, deel.commitment, geblindeerd, evaluaties, Modus.VOPRF)
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

    def combineer(self, geldig: Mapping[int, DeelEvaluatie], drempel: int) -> list[bytes]:
        """Tokens from exactly ``drempel`` verified answers (by share index)."""
        if len(geldig) < drempel:
            raise CryptoError(f"{len(geldig)} valid answers, {drempel} needed")
        gekozen = sorted(geldig)[:drempel]
        coeff = {i: lagrange(i, gekozen) for i in gekozen}
        tokens = []
        for j, b in enumerate(self.blinds):
            kb: Element | None = None
            for i in gekozen:
                term = geldig[i].evaluaties[j].maal(coeff[i])
                kb = term if kb is None else kb + term
            assert kb is not None
            tokens.append(voltooi(self.invoer[j], b.blind, kb))
        return tokens
