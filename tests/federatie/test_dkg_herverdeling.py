"""Refresh and resharing over a real nats-server: 5 regions, then 6 (one joins, t = 4), then 5
(one leaves, t = 3). The key, and so every token, stays; old shares stop combining with new ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gedeeld.crypto.dkg import Deling
from gedeeld.crypto.drempel import Verzoek, evalueer_deel
from gedeeld.crypto.groep import Element, Scalar
from gedeeld.crypto.oprf import oprf
from gedeeld.crypto.shamir import Sleuteldeel, herstel
from gedeeld.federatie import Federatie, lees
from gedeeld.federatie.dkg import start
from gedeeld.federatie.dkg_ronde import Regiodeel, Resultaat
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.fouten import UnavailableError
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from tests.federatie.dkg_opzet import VIJF, DkgOpzet
from tests.federatie.test_dkg import INVOER, tokens_via_nats

ZES = [*VIJF, "fryslan"]


async def ronde(opzet: DkgOpzet, start_: bytes, codes: list[str]) -> tuple[Federatie, bytes]:
    leider, regios = await opzet.ronde(start_, codes)
    assert isinstance(leider, Resultaat), leider
    assert all(isinstance(r, Federatie) for r in regios.values()), regios
    assert leider.beoordeling.uitgesloten == {}
    return lees(leider.register, opzet.beheerder.publiek), leider.register


async def test_refresh_and_resharing_5_6_5_keep_every_token(tmp_path: Path, nats_server: NatsServer) -> None:
    url = nats_server.url
    opzet = DkgOpzet(url, tmp_path)
    fed0, reg0 = await ronde(opzet, start(opzet.deelnemers(VIJF), 3, opzet.beheerder, fase_seconden=20), VIJF)
    k = herstel([opzet.deel(fed0, c) for c in VIJF[:3]])  # test oracle
    verwacht = [oprf(k, x) for x in INVOER]
    assert await tokens_via_nats(url, opzet, fed0, "wvv") == verwacht

    # Refresh: same regions, same threshold, new shares.
    fed1, reg1 = await ronde(
        opzet, start(opzet.deelnemers(VIJF), 3, opzet.beheerder, vorig_register=reg0), VIJF
    )
    assert (fed1.epoch, fed1.generatie, fed1.drempel) == (1, 1, 3)
    assert fed1.sleutel_commitment == fed0.sleutel_commitment == Element.basis_maal(k)
    for c in VIJF:
        assert opzet.deel(fed1, c).waarde != opzet.deel(fed0, c).waarde
        assert fed1.regio(c).commitment != fed0.regio(c).commitment
    assert await tokens_via_nats(url, opzet, fed1, "zeeland") == verwacht

    # 5 -> 6: fryslan joins, the threshold goes to 4.
    fed2, reg2 = await ronde(
        opzet, start(opzet.deelnemers(ZES), 4, opzet.beheerder, vorig_register=reg1), ZES
    )
    assert (sorted(fed2.regios), fed2.drempel, fed2.generatie) == (sorted(ZES), 4, 2)
    assert await tokens_via_nats(url, opzet, fed2, "fryslan") == verwacht

    # 6 -> 5: arnhem is compromised; it does not take part and gets no share.
    zonder = [c for c in ZES if c != "arnhem"]
    fed3, _ = await ronde(
        opzet,
        start(opzet.deelnemers(zonder), 3, opzet.beheerder, vorig_register=reg2, zonder=["arnhem"]),
        zonder,
    )
    assert (sorted(fed3.regios), fed3.drempel, fed3.generatie) == (sorted(zonder), 3, 3)
    assert await tokens_via_nats(url, opzet, fed3, "wvv") == verwacht
    assert herstel([opzet.deel(fed3, c) for c in zonder[-3:]]) == k

    # Old shares with new ones: the wrong token, and the DLEQ proof against the registry catches it.
    verzoek = Verzoek.maak(INVOER[:2])
    oud = opzet.deel(fed2, "wvv")
    gemengd = {
        fed3.regio("wvv").index: evalueer_deel(oud, verzoek.geblindeerd),
        **{
            fed3.regio(c).index: evalueer_deel(opzet.deel(fed3, c), verzoek.geblindeerd)
            for c in ("haaglanden", "zeeland")
        },
    }
    assert verzoek.combineer(gemengd, 3) != verwacht[:2]
    assert await old_share_is_refused(url, opzet, fed3, oud) == 1


class DeeltIetsAnders(Regiodeel):
    """An old holder that deals a fresh secret instead of its share (consistent shares, so no
    receiver complains): its Feldman A_0 is not its registered k_i·G."""

    def deling(self, drempel: int, geheim: Scalar | None) -> Deling:
        return Deling.nieuw(drempel, None)


async def test_a_holder_dealing_another_value_is_dropped_and_the_key_stays(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    opzet = DkgOpzet(nats_server.url, tmp_path)
    fed0, reg0 = await ronde(opzet, start(opzet.deelnemers(VIJF), 3, opzet.beheerder, fase_seconden=20), VIJF)
    k = herstel([opzet.deel(fed0, c) for c in VIJF[:3]])  # test oracle

    leider, regios = await opzet.ronde(
        start(opzet.deelnemers(VIJF), 3, opzet.beheerder, vorig_register=reg0),
        VIJF,
        {"ijsselland": DeeltIetsAnders},
    )
    assert isinstance(leider, Resultaat), leider
    assert all(isinstance(r, Federatie) for r in regios.values()), regios
    assert leider.beoordeling.uitgesloten == {"ijsselland": "dealt another value than its share of the key"}
    assert leider.beoordeling.klachten == {c: set() for c in VIJF}
    fed1 = lees(leider.register, opzet.beheerder.publiek)
    assert sorted(fed1.regios) == sorted(VIJF)  # a resharing drops the dealing, not the region
    assert herstel([opzet.deel(fed1, c) for c in VIJF[2:]]) == k
    assert await tokens_via_nats(nats_server.url, opzet, fed1, "arnhem") == [oprf(k, x) for x in INVOER]


async def old_share_is_refused(url: str, opzet: DkgOpzet, federatie: Federatie, oud: Sleuteldeel) -> int:
    """wvv serves its old share beside two honest holders: the client's proof check refuses it,
    so only 2 of the 3 needed answers are valid. Returns wvv's failure count at the client."""
    delen = {"wvv": oud, **{c: opzet.deel(federatie, c) for c in ("haaglanden", "zeeland")}}
    async with opzet.houders(federatie, delen):
        nc = await verbind(url, "client-fryslan")
        try:
            client = Pseudonimiseerder(
                nc, "fryslan", federatie, opzet.regios["fryslan"].ondertekening, per_houder=2
            )
            with pytest.raises(UnavailableError):
                await client.tokens(INVOER[:2])
            return client.fouten["wvv"]
        finally:
            await nc.close()
