"""Distributed key generation over a real nats-server: 5 regions, t = 3, one of them cheating.

k is reconstructed only here, as a test oracle (``shamir.herstel``); no code path in gedeeld/ or
services/ computes it.
"""

from __future__ import annotations

import ast
import stat
from pathlib import Path

import pytest

from gedeeld.crypto.dkg import Deling, OpenDeel
from gedeeld.crypto.groep import Element, Scalar
from gedeeld.crypto.oprf import oprf
from gedeeld.crypto.shamir import herstel
from gedeeld.federatie import Federatie, RegisterFout, lees
from gedeeld.federatie.dkg import DkgFout, herspeel, start
from gedeeld.federatie.dkg_ronde import Regiodeel, Resultaat
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.federatie.register import teken_register
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import dkg_pb2 as D
from gedeeld.zvh.v1 import federatie_pb2 as F
from tests.federatie.dkg_opzet import VIJF, DkgOpzet

INVOER = [f"zvh-matchsleutel-v1\x00bsn\x00{n:09d}".encode() for n in range(12)]
ROOT = Path(__file__).resolve().parents[2]


class DeeltVerkeerd(Regiodeel):
    """A dealer that gives arnhem a share off its polynomial, and reveals the same when accused."""

    def deel_voor(self, deling: Deling, ontvanger: str, index: int) -> OpenDeel:
        goed = deling.deel(index)
        if ontvanger != "arnhem":
            return goed
        return OpenDeel(Scalar.van_int(goed.s.als_int() + 1), goed.s_accent)


class OnthultEerlijk(Regiodeel):
    """A dealer whose first share to arnhem is wrong, but that reveals the right one when accused."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.gevraagd = 0

    def deel_voor(self, deling: Deling, ontvanger: str, index: int) -> OpenDeel:
        goed = deling.deel(index)
        if ontvanger == "arnhem":
            self.gevraagd += 1
            if self.gevraagd == 1:
                return OpenDeel(goed.s, Scalar.van_int(goed.s_accent.als_int() + 1))
        return goed


def gedeelde_bestanden(map_: Path) -> list[str]:
    return [str(p.relative_to(map_)) for p in map_.glob("*/sleuteldeel-*")]


async def tokens_via_nats(url: str, opzet: DkgOpzet, federatie: Federatie, client: str) -> list[bytes]:
    """Every holder serves its share with the production holder code; ``client`` pseudonymises."""
    async with opzet.houders(federatie):
        nc = await verbind(url, f"client-{client}")
        try:
            return await Pseudonimiseerder(nc, client, federatie, opzet.regios[client].ondertekening).tokens(
                INVOER
            )
        finally:
            await nc.close()


async def test_dkg_excludes_a_cheating_dealer_and_its_tokens_equal_single_key_tokens(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    opzet = DkgOpzet(nats_server.url, tmp_path)
    data = start(opzet.deelnemers(VIJF), 3, opzet.beheerder, fase_seconden=20)
    leider, regios = await opzet.ronde(data, VIJF, {"haaglanden": DeeltVerkeerd})

    assert isinstance(leider, Resultaat), leider
    assert leider.beoordeling.uitgesloten == {"haaglanden": "justified complaint by arnhem"}
    federatie = lees(leider.register, opzet.beheerder.publiek)
    assert sorted(federatie.regios) == sorted(set(VIJF) - {"haaglanden"})
    assert federatie.regio("ijsselland").index == 4  # indices stay; the excluded one leaves a gap
    for code in VIJF:
        assert isinstance(regios[code], Federatie), regios[code]
    # the cheater holds no share
    assert sorted(gedeelde_bestanden(tmp_path)) == sorted(
        f"{c}/sleuteldeel-e1-g0.key" for c in federatie.regios
    )
    bestand = tmp_path / "wvv" / "sleuteldeel-e1-g0.key"
    assert stat.S_IMODE(bestand.stat().st_mode) == 0o600

    # Test oracle only: k from the holders' shares.
    delen = [opzet.deel(federatie, c) for c in federatie.regios]
    k = herstel(delen[:3])
    assert herstel(delen[1:]) == k
    assert Element.basis_maal(k) == federatie.sleutel_commitment
    tokens = await tokens_via_nats(nats_server.url, opzet, federatie, "wvv")
    assert tokens == [oprf(k, x) for x in INVOER]

    # Anyone can replay the transcript against the signed registry; a changed one fails.
    assert herspeel(leider.transcript, federatie).houders().keys() == federatie.regios.keys()
    t = D.DkgTranscript.FromString(leider.transcript)
    del t.bundels[2].berichten[0]
    with pytest.raises(DkgFout, match="hash"):
        herspeel(t.SerializeToString(), federatie)
    # A registry the beheerder signed without one holder is consistent, but not what the round made.
    env = F.OndertekendRegister.FromString(leider.register)
    reg = F.Federatieregister.FromString(env.register)
    del reg.regios[-1]
    vervalst = lees(teken_register(reg, opzet.beheerder), opzet.beheerder.publiek)
    with pytest.raises(DkgFout, match="does not match"):
        herspeel(leider.transcript, vervalst)


async def test_an_accused_dealer_that_reveals_the_right_share_stays(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    opzet = DkgOpzet(nats_server.url, tmp_path)
    data = start(opzet.deelnemers(VIJF), 3, opzet.beheerder, fase_seconden=20)
    leider, regios = await opzet.ronde(data, VIJF, {"zeeland": OnthultEerlijk})

    assert isinstance(leider, Resultaat), leider
    assert all(isinstance(r, Federatie) for r in regios.values()), regios
    assert leider.beoordeling.klachten["arnhem"] == {"zeeland"}
    assert leider.beoordeling.uitgesloten == {}
    federatie = lees(leider.register, opzet.beheerder.publiek)
    assert sorted(federatie.regios) == sorted(VIJF)
    k = herstel([opzet.deel(federatie, c) for c in ("arnhem", "zeeland", "wvv")])
    assert herstel([opzet.deel(federatie, c) for c in ("haaglanden", "ijsselland", "arnhem")]) == k


async def test_a_silent_region_fails_the_round_for_everyone(tmp_path: Path, nats_server: NatsServer) -> None:
    opzet = DkgOpzet(nats_server.url, tmp_path)
    data = start(opzet.deelnemers(VIJF), 3, opzet.beheerder, fase_seconden=1)
    leider, regios = await opzet.ronde(data, VIJF[:4])  # zeeland never shows up
    assert isinstance(leider, DkgFout) and "zeeland" in str(leider)
    assert all(isinstance(r, DkgFout) for r in regios.values())
    assert gedeelde_bestanden(tmp_path) == []


def test_a_threshold_below_two_is_refused(tmp_path: Path) -> None:
    opzet = DkgOpzet("nats://unused", tmp_path)
    with pytest.raises(DkgFout, match="at least 2"):
        start(opzet.deelnemers(VIJF), 1, opzet.beheerder)


def test_no_code_path_outside_tests_reconstructs_the_key() -> None:
    """``herstel`` (Lagrange at 0 over shares) is the only way to k; only tests call it."""
    aanroepers = []
    for pad in [*ROOT.joinpath("gedeeld").rglob("*.py"), *ROOT.joinpath("services").rglob("*.py")]:
        for node in ast.walk(ast.parse(pad.read_text())):
            if (
                isinstance(node, ast.Name | ast.Attribute)
                and getattr(node, "id", getattr(node, "attr", "")) == "herstel"
            ):
                aanroepers.append(str(pad.relative_to(ROOT)))
    assert aanroepers == []


def test_an_expired_registry_is_refused_and_one_near_expiry_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import UTC, datetime, timedelta

    from gedeeld.federatie.register import RegisterVerlopen
    from tests.federatie.opzet import maak_federatie

    tf = maak_federatie(3, 2)
    nu = datetime.now(UTC)
    lees(tf.data, tf.beheerder.publiek, nu=nu)
    assert "expires soon" not in caplog.text
    lees(tf.data, tf.beheerder.publiek, nu=nu + timedelta(days=729))
    assert "expires soon" in caplog.text
    with pytest.raises(RegisterVerlopen, match="expired"):
        lees(tf.data, tf.beheerder.publiek, nu=nu + timedelta(days=731))
    assert lees(tf.data, None, nu=nu + timedelta(days=731), geldigheid=False).epoch == 1
    with pytest.raises(RegisterFout, match="below 2"):
        maak_federatie(3, 1)
