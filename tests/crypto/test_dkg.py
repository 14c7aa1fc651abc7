"""The DKG math on its own: Pedersen and Feldman checks, combination, resharing weights."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gedeeld.crypto.dkg import (
    Deling,
    OngeldigDeel,
    OpenDeel,
    combineer_deel,
    controleer_feldman,
    controleer_pedersen,
    gewichten,
    publiek_deel,
    sleutel_commitment,
)
from gedeeld.crypto.groep import Element, Scalar
from gedeeld.crypto.oprf import oprf
from gedeeld.crypto.shamir import herstel, splits
from gedeeld.fouten import CryptoError


@settings(max_examples=15, deadline=None)
@given(t=st.integers(2, 5), extra=st.integers(0, 3), data=st.data())
def test_joint_shares_recombine_to_the_committed_key(t: int, extra: int, data: st.DataObject) -> None:
    n = t + extra
    dealers = {i: Deling.nieuw(t) for i in range(1, n + 1)}
    feldman = {i: d.feldman() for i, d in dealers.items()}
    w = gewichten(dealers, herverdeling=False)
    delen = []
    for j in range(1, n + 1):
        for i, d in dealers.items():
            controleer_pedersen(j, d.deel(j), d.pedersen())
            controleer_feldman(j, d.deel(j).s, feldman[i])
        deel = combineer_deel(j, {i: d.deel(j).s for i, d in dealers.items()}, w)
        assert deel.commitment == publiek_deel(j, feldman, w)
        delen.append(deel)
    subset = data.draw(st.permutations(delen))[:t]  # any t shares; only this test recombines
    assert Element.basis_maal(herstel(subset)) == sleutel_commitment(feldman, w)


def test_a_changed_share_fails_both_checks_and_the_wrong_commitments_fail_too() -> None:
    d, ander = Deling.nieuw(3), Deling.nieuw(3)
    goed = d.deel(2)
    for slecht in (
        OpenDeel(Scalar.van_int(goed.s.als_int() + 1), goed.s_accent),
        OpenDeel(goed.s, Scalar.van_int(goed.s_accent.als_int() + 1)),
    ):
        with pytest.raises(OngeldigDeel):
            controleer_pedersen(2, slecht, d.pedersen())
    with pytest.raises(OngeldigDeel):
        controleer_feldman(2, Scalar.van_int(goed.s.als_int() + 1), d.feldman())
    with pytest.raises(OngeldigDeel):
        controleer_pedersen(3, goed, d.pedersen())  # another receiver's index
    with pytest.raises(OngeldigDeel):
        controleer_feldman(2, goed.s, ander.feldman())
    # Pedersen commitments hide a(0): they differ from the Feldman ones.
    assert d.pedersen()[0] != d.feldman()[0]


def test_resharing_keeps_the_key_for_any_new_threshold() -> None:
    k = Scalar.willekeurig()
    oud = splits(k, 3, 5)
    dealers = {o.index: Deling.nieuw(4, o.waarde) for o in oud[1:]}  # 4 of the 5 old holders deal
    feldman = {i: d.feldman() for i, d in dealers.items()}
    for i, o in ((o.index, o) for o in oud[1:]):
        assert feldman[i][0] == o.commitment  # A_0 is the dealer's registered k_i·G
    w = gewichten(dealers, herverdeling=True)
    nieuw = [combineer_deel(j, {i: d.deel(j).s for i, d in dealers.items()}, w) for j in range(1, 7)]
    assert sleutel_commitment(feldman, w) == Element.basis_maal(k)
    assert herstel(nieuw[:4]) == herstel(nieuw[2:]) == k
    assert oprf(herstel(nieuw[1:5]), b"x") == oprf(k, b"x")
    assert herstel([*nieuw[1:4], oud[0]]) != k  # an old share does not combine with new ones


def test_bounds_are_refused() -> None:
    with pytest.raises(CryptoError, match="threshold"):
        Deling.nieuw(1)
    with pytest.raises(CryptoError):
        Deling.nieuw(3).deel(0)
    with pytest.raises(CryptoError, match="every qualified dealer"):
        combineer_deel(1, {1: Scalar.van_int(5)}, {1: Scalar.van_int(1), 2: Scalar.van_int(1)})
    with pytest.raises(CryptoError):
        OpenDeel.lees(bytes(63))
    assert "verborgen" in repr(Deling.nieuw(2)) and "verborgen" in repr(Deling.nieuw(2).deel(1))
