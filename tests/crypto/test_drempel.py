"""Threshold OPRF equals single-key OPRF; bad holders are detected; Shamir properties."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gedeeld.crypto import Ondertekensleutel, Ontsleutelsleutel, verifieer, verzegel
from gedeeld.crypto.drempel import DeelEvaluatie, Verzoek, batch_inverse, evalueer_deel
from gedeeld.crypto.groep import ORDE, TELLER, Element, Scalar
from gedeeld.crypto.oprf import oprf
from gedeeld.crypto.shamir import herstel, splits
from gedeeld.fouten import CryptoError, DecryptionError, InvalidProofError, InvalidSignatureError

INVOER = [b"zvh-matchsleutel-v1\x00bsn\x00111222333", b"x", b"zvh-matchsleutel-v1\x00naam_datum\x00berg\x00j"]


def test_every_t_subset_gives_the_single_key_token() -> None:
    k = Scalar.willekeurig()
    delen = splits(k, 3, 5)
    verzoek = Verzoek.maak(INVOER)
    antwoorden = {d.index: evalueer_deel(d, verzoek.geblindeerd) for d in delen}
    verwacht = [oprf(k, x) for x in INVOER]

    for subset in itertools.combinations(sorted(antwoorden), 3):
        for i in subset:
            verzoek.controleer(antwoorden[i], delen[i - 1].commitment)
        assert verzoek.combineer({i: antwoorden[i] for i in subset}, 3) == verwacht


def test_fewer_than_t_shares_do_not_give_the_token() -> None:
    k = Scalar.willekeurig()
    delen = splits(k, 3, 5)
    verzoek = Verzoek.maak(INVOER[:1])
    twee = {d.index: evalueer_deel(d, verzoek.geblindeerd) for d in delen[:2]}
    with pytest.raises(CryptoError, match="2 valid answers, 3 needed"):
        verzoek.combineer(twee, 3)
    assert verzoek.combineer(twee, 2) != [oprf(k, INVOER[0])]


def test_a_lying_holder_is_caught_by_its_proof() -> None:
    k = Scalar.willekeurig()
    delen = splits(k, 3, 5)
    verzoek = Verzoek.maak(INVOER)
    eerlijk = evalueer_deel(delen[0], verzoek.geblindeerd)
    ander = evalueer_deel(splits(Scalar.willekeurig(), 3, 5)[0], verzoek.geblindeerd)  # wrong share
    vervalst = DeelEvaluatie(
        1, (eerlijk.evaluaties[1], eerlijk.evaluaties[0], eerlijk.evaluaties[2]), eerlijk.bewijs
    )
    kort = DeelEvaluatie(1, eerlijk.evaluaties[:2], eerlijk.bewijs)

    verzoek.controleer(eerlijk, delen[0].commitment)
    for slecht in (ander, vervalst, kort):
        with pytest.raises(InvalidProofError):
            verzoek.controleer(slecht, delen[0].commitment)
    with pytest.raises(InvalidProofError):  # an honest answer checked against someone else's commitment
        verzoek.controleer(eerlijk, delen[1].commitment)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(geheim=st.integers(0, ORDE - 1), t=st.integers(1, 6), extra=st.integers(0, 4), data=st.data())
def test_shamir_any_t_shares_recover_the_secret(geheim: int, t: int, extra: int, data: st.DataObject) -> None:
    n = t + extra
    delen = splits(Scalar.van_int(geheim), t, n)
    subset = data.draw(st.permutations(delen)).__getitem__(slice(0, t))
    assert herstel(subset).als_int() == geheim
    if t > 1:
        assert herstel(subset[:-1]).als_int() != geheim or geheim == 0


def test_invalid_elements_are_refused() -> None:
    with pytest.raises(CryptoError):
        Element.lees(b"\x00" * 32)  # the identity
    with pytest.raises(CryptoError):
        Element.lees(b"\xff" * 32)
    with pytest.raises(CryptoError):
        Element.lees(b"\x01" * 31)
    with pytest.raises(CryptoError):
        Scalar.lees(ORDE.to_bytes(32, "little"))


def test_signatures_verify_and_bind_domain_and_message() -> None:
    sk = Ondertekensleutel.nieuw()
    sig = sk.onderteken(b"zvh-test", b"bericht")
    verifieer(sk.publiek, b"zvh-test", b"bericht", sig)
    for domein, bericht, publiek in [
        (b"zvh-ander", b"bericht", sk.publiek),
        (b"zvh-test", b"berichT", sk.publiek),
        (b"zvh-test", b"bericht", Ondertekensleutel.nieuw().publiek),
    ]:
        with pytest.raises(InvalidSignatureError):
            verifieer(publiek, domein, bericht, sig)
    assert Ondertekensleutel.lees(sk.als_bytes()).publiek == sk.publiek


def test_envelopes_open_only_for_recipient_with_same_info() -> None:
    ontvanger = Ontsleutelsleutel.nieuw()
    env = verzegel(ontvanger.publiek, b"treffer", b"zvh-treffer-v1\x00aa")
    assert ontvanger.open(env, b"zvh-treffer-v1\x00aa") == b"treffer"
    fouten: tuple[Callable[[], bytes], ...] = (
        lambda: Ontsleutelsleutel.nieuw().open(env, b"zvh-treffer-v1\x00aa"),
        lambda: ontvanger.open(env, b"zvh-treffer-v1\x00bb"),
        lambda: ontvanger.open(env[:-1] + bytes([env[-1] ^ 1]), b"zvh-treffer-v1\x00aa"),
        lambda: ontvanger.open(env[:20], b"zvh-treffer-v1\x00aa"),
        lambda: ontvanger.open(b"\x02" + env[1:], b"zvh-treffer-v1\x00aa"),
    )
    for fout in fouten:
        with pytest.raises(DecryptionError):
            fout()


def test_secrets_do_not_show_in_repr() -> None:
    k = Scalar.willekeurig()
    deel = splits(k, 2, 3)[0]
    for obj in (k, deel, Ondertekensleutel.nieuw(), Ontsleutelsleutel.nieuw()):
        assert "verborgen" in repr(obj)
    assert k.data.hex() not in repr(deel)


def test_folded_unblinding_gives_the_same_tokens_as_the_previous_path() -> None:
    k = Scalar.willekeurig()
    delen = splits(k, 3, 5)
    verzoek = Verzoek.maak(INVOER)
    antwoorden = {d.index: evalueer_deel(d, verzoek.geblindeerd, d.commitment) for d in delen[1:4]}
    verwacht = [oprf(k, x) for x in INVOER]
    assert verzoek.combineer(antwoorden, 3) == verwacht
    assert verzoek.combineer(antwoorden, 3, gevouwen=False) == verwacht


def test_batch_inverse_inverts_each_value_and_refuses_zero() -> None:
    waarden = [1, 2, ORDE - 1, 123456789, 2**200 + 7]
    for w, inv in zip(waarden, batch_inverse(waarden), strict=True):
        assert w * inv % ORDE == 1
    assert batch_inverse([]) == []
    with pytest.raises(CryptoError):
        batch_inverse([5, ORDE, 7])


def test_scalar_multiplication_counts_of_both_paths() -> None:
    """The figures make bench reports, as exact counts: 5 keys, t=3, t+1 asked."""
    delen = splits(Scalar.willekeurig(), 3, 5)
    invoer = [bytes([i]) for i in range(5)]

    def kosten(fn: Callable[[], object]) -> int:
        voor = TELLER.stand()
        fn()
        na = TELLER.stand()
        return (na[0] - voor[0]) + (na[1] - voor[1])

    verzoek = Verzoek.maak(invoer)
    commitment = delen[0].commitment
    assert kosten(lambda: Verzoek.maak(invoer)) == 5
    assert kosten(lambda: evalueer_deel(delen[0], verzoek.geblindeerd, commitment)) == 13
    assert kosten(lambda: evalueer_deel(delen[0], verzoek.geblindeerd)) == 14
    antwoorden = {d.index: evalueer_deel(d, verzoek.geblindeerd) for d in delen[:3]}
    assert kosten(lambda: verzoek.controleer(antwoorden[1], commitment)) == 14
    assert kosten(lambda: verzoek.combineer(antwoorden, 3)) == 15
    assert kosten(lambda: verzoek.combineer(antwoorden, 3, gevouwen=False)) == 20
