"""Rotation to a new key over real nodes and NATS: three regions switch one by one to epoch 2
(made by a DKG) while cases keep being registered; then epoch 1 ends. No match is lost, none is
duplicated."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from deploy.lokaal import contact
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.federatie import Deelnemer, ceremonie
from gedeeld.federatie.dkg import start
from gedeeld.federatie.dkg_ronde import Resultaat
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats.server import NatsServer
from gedeeld.zvh.v1 import casus_pb2 as S
from services.signalering.store import EigenSignaalRij, TokenRij
from tests.federatie import knooppunten
from tests.federatie.dkg_opzet import DkgOpzet
from tests.federatie.knooppunten import Federatie, Regio
from tests.voorbeelden import BSN_B, aanmelding, betrokkene

CODES = ["wvv", "arnhem", "haaglanden"]


def x() -> S.Betrokkene:
    return betrokkene()


def y() -> S.Betrokkene:
    return betrokkene(
        bsn=BSN_B, voornamen="Fatima", voorvoegsels="", achternaam="El Amrani", geboren=(1990, 7, 14)
    )


def configureer(fed: Federatie, code: str, register: str, vorig: str | None) -> None:
    pad = fed.regios[code].cfg_pad
    regels = [r for r in pad.read_text().splitlines() if not r.startswith(("register =", "vorig_register ="))]
    i = regels.index("[federatie]") + 1
    regels[i:i] = [f'register = "{register}"', *([f'vorig_register = "{vorig}"'] if vorig else [])]
    pad.write_text("\n".join(regels) + "\n")


async def herstart(fed: Federatie, code: str, register: str, vorig: str | None) -> None:
    """Restart a region with other registries, once it has handled what reached it (a message in
    flight when a node stops comes back only after the ack wait; ``fed.rustig()`` cannot be used
    while a region alone on the new epoch retries its tokens)."""
    await fed.wacht(lambda: stil(fed[code]))
    await fed.stop(code)
    configureer(fed, code, register, vorig)
    await fed.start(code)


async def referenties(fed: Federatie) -> dict[str, str]:
    """casus id -> the reference its (one) person is signalled under."""
    uit = {}
    for regio in fed.regios.values():
        assert regio.node is not None
        async with regio.node.db.lezen() as s:
            for r in (await s.execute(select(EigenSignaalRij))).scalars():
                uit[r.casus_id] = r.referentie
    return uit


async def gesignaleerd(fed: Federatie, casus_ids: list[str]) -> bool:
    return set(casus_ids) <= set(await referenties(fed))


async def alle_paren(fed: Federatie, verwacht: dict[str, list[tuple[str, str, str]]]) -> bool:
    for code, paren_ in verwacht.items():
        if not set(paren_) <= set(await paren(fed[code])):
            return False
    return True


async def stil(regio: Regio) -> bool:
    assert regio.node is not None and regio.node.casusregister is not None
    if await regio.node.casusregister.relay.achterstand():
        return False
    for stroom, durable, js in regio.node.consumenten():
        info = await js.consumer_info(stroom, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def heeft_match(regio: Regio, casus_id: str, andere: str) -> bool:
    return any(m.eigen_casus_id == casus_id and m.andere_regio == andere for m in await regio.matches())


async def paren(regio: Regio) -> list[tuple[str, str, str]]:
    return sorted((m.eigen_casus_id, m.andere_regio, m.andere_referentie) for m in await regio.matches())


async def epochs_van(regio: Regio) -> dict[str, set[int]]:
    """Per own casus: the epochs of its tokens."""
    assert regio.node is not None
    async with regio.node.db.lezen() as s:
        uit: dict[str, set[int]] = {}
        for casus_id, epoch in (await s.execute(select(TokenRij.casus_id, TokenRij.epoch))).all():
            uit.setdefault(casus_id, set()).add(epoch)
        return uit


def eigen_registry(tmp: Path, fed: Federatie) -> Ondertekensleutel:
    """Epoch 1 from a beheerder key this test holds (to sign epoch 2 with it too)."""
    beheerder = Ondertekensleutel.nieuw()
    deelnemers = []
    for c in CODES:
        s = RegioSleutels.lees(tmp / "sleutels" / c)
        deelnemers.append(
            Deelnemer(c, f"Zorg- en Veiligheidshuis {c}", s.ondertekening.publiek, s.hpke.publiek, contact(c))
        )
    (tmp / "federatie.reg").write_bytes(ceremonie(deelnemers, 2, beheerder))
    for c in CODES:
        pad = fed.regios[c].cfg_pad
        pad.write_text(pad.read_text().replace(fed.beheerder, beheerder.publiek.hex()))
    fed.beheerder = beheerder.publiek.hex()
    return beheerder


async def test_rotation_with_live_registrations_loses_and_duplicates_no_match(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    fed = await knooppunten.maak(tmp_path, nats_server.url)
    beheerder = eigen_registry(tmp_path, fed)
    async with knooppunten.draaiend(fed):
        wvv, arnhem, haaglanden = fed["wvv"], fed["arnhem"], fed["haaglanden"]
        p1 = await wvv.aanmelden(aanmelding(x()))
        p2 = await arnhem.aanmelden(aanmelding(x()))
        await fed.rustig()

        # Epoch 2: a new key, generated by the regions (their key directories get its shares).
        opzet = DkgOpzet(nats_server.url, tmp_path / "sleutels", beheerder=beheerder)
        opzet.regios.update({c: RegioSleutels.lees(tmp_path / "sleutels" / c) for c in CODES})
        leider, _ = await opzet.ronde(
            start(opzet.deelnemers(CODES), 2, beheerder, epoch=2, fase_seconden=20), CODES
        )
        assert isinstance(leider, Resultaat), leider
        (tmp_path / "federatie-e2.reg").write_bytes(leider.register)

        # One by one, regions serve both epochs; cases keep coming in between, and match at once.
        await herstart(fed, "wvv", "federatie-e2.reg", "federatie.reg")
        p3 = await haaglanden.aanmelden(aanmelding(x()))  # haaglanden is still on epoch 1 alone
        p4 = await wvv.aanmelden(aanmelding(y()))  # wvv alone cannot make epoch-2 tokens yet (t = 2)
        await fed.wacht(lambda: heeft_match(wvv, p1.casus_id, "haaglanden"))
        await herstart(fed, "arnhem", "federatie-e2.reg", "federatie.reg")
        p5 = await arnhem.aanmelden(aanmelding(y()))
        await fed.wacht(lambda: heeft_match(wvv, p4.casus_id, "arnhem"))
        await herstart(fed, "haaglanden", "federatie-e2.reg", "federatie.reg")
        await fed.rustig()
        for regio in (wvv, arnhem, haaglanden):  # every active case now has tokens of both epochs
            assert all(e == {1, 2} for e in (await epochs_van(regio)).values()), regio.code

        # Every region switched: epoch 1 ends.
        for c in CODES:
            await herstart(fed, c, "federatie-e2.reg", None)
        p6 = await haaglanden.aanmelden(aanmelding(y()))
        p7 = await arnhem.aanmelden(aanmelding(x()))
        await fed.rustig()
        for regio in (wvv, arnhem, haaglanden):
            assert all(e == {2} for e in (await epochs_van(regio)).values()), regio.code

        ref = await referenties(fed)
        assert {c.casus_id for c in (p1, p2, p3, p4, p5, p6, p7)} <= set(ref)
        verwacht: dict[str, list[tuple[str, str, str]]] = {c: [] for c in CODES}
        personen = {
            "x": [("wvv", p1), ("arnhem", p2), ("haaglanden", p3), ("arnhem", p7)],
            "y": [("wvv", p4), ("arnhem", p5), ("haaglanden", p6)],
        }
        for lijst in personen.values():
            for r1, c1 in lijst:
                for r2, c2 in lijst:
                    if r1 != r2:
                        verwacht[r1].append((c1.casus_id, r2, ref[c2.casus_id]))
        # Treffers are sent after the signal is acknowledged: wait for the matches, then for quiet.
        await fed.wacht(lambda: alle_paren(fed, verwacht))
        await fed.rustig()
        for regio in (wvv, arnhem, haaglanden):
            assert await paren(regio) == sorted(verwacht[regio.code]), regio.code


async def test_refresh_on_running_nodes_keeps_every_match(tmp_path: Path, nats_server: NatsServer) -> None:
    """The key is reshared (a refresh of the dealer-made epoch 1); nodes switch to generation 1 and
    nothing changes for matching: old matches stay, a new case matches the old ones."""
    fed = await knooppunten.maak(tmp_path, nats_server.url)
    beheerder = eigen_registry(tmp_path, fed)
    async with knooppunten.draaiend(fed):
        wvv, arnhem, haaglanden = fed["wvv"], fed["arnhem"], fed["haaglanden"]
        p1 = await wvv.aanmelden(aanmelding(x()))
        p2 = await arnhem.aanmelden(aanmelding(x()))
        await fed.rustig()
        voor = {c: await paren(fed[c]) for c in CODES}
        assert len(voor["wvv"]) == len(voor["arnhem"]) == 1

        opzet = DkgOpzet(nats_server.url, tmp_path / "sleutels", beheerder=beheerder)
        opzet.regios.update({c: RegioSleutels.lees(tmp_path / "sleutels" / c) for c in CODES})
        vorig = (tmp_path / "federatie.reg").read_bytes()
        leider, _ = await opzet.ronde(
            start(opzet.deelnemers(CODES), 2, beheerder, vorig_register=vorig), CODES
        )
        assert isinstance(leider, Resultaat), leider
        (tmp_path / "federatie-g1.reg").write_bytes(leider.register)
        for c in CODES:
            await herstart(fed, c, "federatie-g1.reg", None)

        p3 = await haaglanden.aanmelden(aanmelding(x()))
        ref = {c.casus_id: r for c, r in ((p1, "wvv"), (p2, "arnhem"), (p3, "haaglanden"))}
        await fed.wacht(lambda: gesignaleerd(fed, list(ref)))
        refs = await referenties(fed)
        verwacht = {
            r1: sorted((c1, r2, refs[c2]) for c2, r2 in ref.items() if r2 != r1) for c1, r1 in ref.items()
        }
        await fed.wacht(lambda: alle_paren(fed, verwacht))
        await fed.rustig()
        for c in CODES:  # the old matches are still there, unchanged, and the tokens did not move
            assert set(voor[c]) <= set(await paren(fed[c]))
            assert await paren(fed[c]) == verwacht[c], c
            assert all(e == {1} for e in (await epochs_van(fed[c])).values())
