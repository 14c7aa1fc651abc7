"""The key ceremony and the registry's verification."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.oprf import oprf
from gedeeld.crypto.shamir import herstel
from gedeeld.federatie import RegisterFout, lees
from gedeeld.federatie.register import teken_register
from gedeeld.zvh.v1 import federatie_pb2 as F
from tests.federatie.opzet import ProefFederatie, maak_federatie


def test_each_region_opens_only_its_own_share_and_shares_recombine() -> None:
    tf = maak_federatie(5, 3)
    delen = [tf.deel(c) for c in tf.regios]
    assert sorted(d.index for d in delen) == [1, 2, 3, 4, 5]
    with pytest.raises(RegisterFout, match="cannot open the key share"):
        tf.federatie.laad_sleuteldeel("wvv", tf.regios["arnhem"].hpke)
    k1, k2 = herstel(delen[:3]), herstel(delen[2:])
    assert k1 == k2
    assert oprf(k1, b"x") == oprf(k2, b"x")


def test_registry_is_bound_to_the_trusted_beheerder() -> None:
    tf = maak_federatie(3, 2)
    with pytest.raises(RegisterFout, match="another beheerder"):
        lees(tf.data, Ondertekensleutel.nieuw().publiek)
    env = F.OndertekendRegister.FromString(tf.data)
    env.handtekening = bytes(64)
    with pytest.raises(RegisterFout, match="signature does not verify"):
        lees(env.SerializeToString(), None)
    with pytest.raises(RegisterFout, match="not a federation registry"):
        lees(b"\xff\xff rommel", None)


def resign(tf: ProefFederatie, wijzig: Callable[[F.Federatieregister], object]) -> bytes:
    env = F.OndertekendRegister.FromString(tf.data)
    reg = F.Federatieregister.FromString(env.register)
    wijzig(reg)
    return teken_register(reg, tf.beheerder)


@pytest.mark.parametrize(
    ("wijzig", "melding"),
    [
        (
            lambda r: r.regios[3].__setattr__("sleuteldeel_commitment", r.regios[0].sleuteldeel_commitment),
            "inconsistent",
        ),
        (lambda r: r.__setattr__("drempel", 9), "threshold 9"),
        (lambda r: r.regios[1].__setattr__("code", r.regios[0].code), "repeated region code"),
        (lambda r: r.regios[1].__setattr__("sleuteldeel_index", 7), "share indices"),
        (lambda r: r.regios[1].__setattr__("hpke_sleutel", b"kort"), "32 bytes"),
    ],
)
def test_inconsistent_registry_is_refused_even_when_signed(
    wijzig: Callable[[F.Federatieregister], object], melding: str
) -> None:
    tf = maak_federatie(5, 3)
    with pytest.raises(RegisterFout, match=melding):
        lees(resign(tf, wijzig), tf.beheerder.publiek)


def test_new_ceremony_is_a_new_epoch_with_a_new_key() -> None:
    oud, nieuw = maak_federatie(3, 2, epoch=1), maak_federatie(3, 2, epoch=2)
    assert (oud.federatie.epoch, nieuw.federatie.epoch) == (1, 2)
    k_oud = herstel([oud.deel(c) for c in oud.regios])
    k_nieuw = herstel([nieuw.deel(c) for c in nieuw.regios])
    assert oprf(k_oud, b"bsn") != oprf(k_nieuw, b"bsn")
