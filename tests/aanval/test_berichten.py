"""Attacks on the federation's messages by one region with only its own material (issue 11, 4-6).

The attacker is ``arnhem``: its keys, the registry, its NATS connection, what every region reads
(SIGNALEN), and it publishes only under its own code (as the hub enforces). Each attack runs twice:
``onbeschermd``, with the protection switched off (gedeeld/federatie/poort.py ``BESCHERMING``,
test-only), to show the test detects the harm; ``beschermd``, to show the protection prevents it.

These run against the embedded federation (one nats-server, real nodes, real SQLite; PostgreSQL
where the database matters). The same attacks against the production shape (deploy/operatie.py:
TLS, 3-server hub, a leaf per region, zvh-node processes) are in test_berichten_productie.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from prometheus_client import REGISTRY

from gedeeld.federatie import poort
from gedeeld.nats import onderwerpen
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from services.signalering.inkomend import MAX_MATCHES_PER_REFERENTIE
from services.signalering.store import MatchRij
from tests.aanval.aanvaller import Aanvaller
from tests.conftest import nieuwe_pg_database
from tests.federatie import knooppunten
from tests.federatie.knooppunten import Federatie, Regio
from tests.voorbeelden import BSN_B, aanmelding, betrokkene


def geweigerd(soort: str, afzender: str, reden: str) -> float:
    waarde = REGISTRY.get_sample_value(
        "zvh_federation_rejected_total", {"soort": soort, "afzender": afzender, "reden": reden}
    )
    return waarde or 0.0


def ontvangen(soort: str) -> float:
    return REGISTRY.get_sample_value("zvh_signals_received_total", {"soort": soort}) or 0.0


@pytest.fixture(params=[True, False], ids=["beschermd", "onbeschermd"])
def beschermd(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def bescherming(monkeypatch: pytest.MonkeyPatch, naam: str, aan: bool) -> None:
    monkeypatch.setattr(poort.BESCHERMING, naam, aan)


@pytest.fixture
async def arnhem(federatie: Federatie) -> AsyncIterator[Aanvaller]:
    async with aanvaller(federatie) as a:
        yield a


class aanvaller:
    def __init__(self, fed: Federatie, code: str = "arnhem") -> None:
        self.fed, self.code = fed, code
        self.nc: Client | None = None

    async def __aenter__(self) -> Aanvaller:
        self.nc = await verbind(self.fed.url, f"aanvaller-{self.code}")
        map_ = self.fed[self.code].cfg_pad.parent
        return Aanvaller.uit_map(
            self.code,
            map_ / "sleutels" / self.code,
            map_ / "federatie.reg",
            bytes.fromhex(self.fed.beheerder),
            self.nc,
            self.nc.jetstream(),
        )

    async def __aexit__(self, *_: object) -> None:
        if self.nc is not None:
            await self.nc.close()


async def matches_met(regio: Regio, andere: str) -> list[MatchRij]:
    return [m for m in await regio.matches() if m.andere_regio == andere]


# -- 4. replay and re-route ------------------------------------------------------------------


async def test_a_signal_of_another_region_replayed_on_the_own_subject_does_not_match_its_origin(
    federatie: Federatie, arnhem: Aanvaller, beschermd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    bescherming(monkeypatch, "herkomst", beschermd)
    wvv = federatie["wvv"]
    await wvv.aanmelden(aanmelding(betrokkene()))
    await federatie.rustig()
    [(data, _)] = await arnhem.signalen_van("wvv")
    voor = geweigerd("signaal", "arnhem", "verkeerde_herkomst")

    await arnhem.signaal(data)  # wvv's own signed signal, on zvh.signaal.arnhem
    await federatie.rustig()

    zelf = await matches_met(wvv, "wvv")
    if not beschermd:
        assert len(zelf) == 1, "the harm: wvv matched its own person"
        return
    assert zelf == []
    assert await federatie["haaglanden"].matches() == []
    # Refused by wvv and haaglanden, before the signature was checked.
    assert geweigerd("signaal", "arnhem", "verkeerde_herkomst") - voor == 2


async def test_an_old_active_signal_replayed_after_its_withdrawal_does_not_make_a_match(
    federatie: Federatie, arnhem: Aanvaller, beschermd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    bescherming(monkeypatch, "stand", beschermd)
    ca = await federatie["arnhem"].aanmelden(aanmelding(betrokkene()))
    await federatie.rustig()
    await federatie["arnhem"].afsluiten(ca.casus_id)  # withdrawn: every region saw it
    await federatie.rustig()
    wvv = federatie["wvv"]
    await wvv.aanmelden(aanmelding(betrokkene()))  # the same person, registered afterwards
    await federatie.rustig()
    assert await matches_met(wvv, "arnhem") == []  # arnhem's index no longer holds the person
    [(oud, actief), (_, ingetrokken)] = await arnhem.signalen_van("arnhem")
    assert (actief.referentie, ingetrokken.soort) == (ingetrokken.referentie, 2)

    await arnhem.signaal(oud)  # the old active signal, with a new message id
    await federatie.rustig()

    heropend = await matches_met(wvv, "arnhem")
    if not beschermd:
        assert [m.andere_referentie for m in heropend] == [actief.referentie], "the harm: a closed case"
        return
    assert heropend == []


# -- 5. fabricated treffers --------------------------------------------------------------------


async def test_fabricated_treffers_for_a_signalled_person_are_capped_and_unknown_ones_refused(
    federatie: Federatie, arnhem: Aanvaller, beschermd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    bescherming(monkeypatch, "treffer_referentie", beschermd)
    wvv = federatie["wvv"]
    await wvv.aanmelden(aanmelding(betrokkene()))  # arnhem never registered this person
    await federatie.rustig()
    [(_, signaal)] = await arnhem.signalen_van("wvv")
    voor = {r: geweigerd("treffer", "arnhem", r) for r in ("te_veel_matches", "onbekende_referentie")}
    aantal = MAX_MATCHES_PER_REFERENTIE + 7

    for _ in range(aantal):  # "zeker": each claims the BSN key matched
        await arnhem.stuur_treffer("wvv", arnhem.treffer("wvv", signaal.referentie))
    await arnhem.stuur_treffer("wvv", arnhem.treffer("wvv", uuid.uuid4().hex))  # never signalled
    await federatie.rustig()

    verzonnen = await matches_met(wvv, "arnhem")
    if not beschermd:
        assert len(verzonnen) == aantal, "the harm: an inbox full of fabricated ZEKER matches"
        return
    assert len(verzonnen) == MAX_MATCHES_PER_REFERENTIE
    assert geweigerd("treffer", "arnhem", "te_veel_matches") - voor["te_veel_matches"] == 7
    assert geweigerd("treffer", "arnhem", "onbekende_referentie") - voor["onbekende_referentie"] == 1


SLECHTE_CONTACTEN = {
    "te_lang": "x" * 5000,
    "nul": "procesregie\x00@arnhem",
    "bidi": "procesregie@\u202eevlisnegeer",
}


async def treffers_met_slechte_tekst_en_een_echte(federatie: Federatie, arnhem: Aanvaller) -> None:
    """wvv holds two persons; arnhem sends treffers with bad text fields for the first; then a
    real treffer for the second comes from haaglanden through the same consumer, behind them."""
    wvv, haaglanden = federatie["wvv"], federatie["haaglanden"]
    tweede = betrokkene(bsn=BSN_B, voornamen="Karel", achternaam="Appel")
    await haaglanden.aanmelden(aanmelding(tweede))
    await federatie.rustig()
    await wvv.aanmelden(aanmelding(betrokkene()))
    await federatie.rustig()
    [(_, signaal)] = await arnhem.signalen_van("wvv")
    for contact in SLECHTE_CONTACTEN.values():
        await arnhem.stuur_treffer("wvv", arnhem.treffer("wvv", signaal.referentie, contact=contact))
    await wvv.aanmelden(aanmelding(tweede))  # haaglanden's treffer for it queues behind arnhem's
    await federatie.wacht(lambda: _heeft(wvv, "haaglanden"), timeout=60)


async def _heeft(regio: Regio, andere: str) -> bool:
    return bool(await matches_met(regio, andere))


async def test_treffers_with_overlong_nul_or_bidi_text_are_refused_and_do_not_stall_the_consumer(
    federatie: Federatie, arnhem: Aanvaller, beschermd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    bescherming(monkeypatch, "tekst", beschermd)
    voor = geweigerd("treffer", "arnhem", "ongeldige_tekst")

    await treffers_met_slechte_tekst_en_een_echte(federatie, arnhem)
    await federatie.rustig()

    opgeslagen = await matches_met(federatie["wvv"], "arnhem")
    if not beschermd:
        contacten = sorted(m.contact for m in opgeslagen)
        assert contacten == sorted(SLECHTE_CONTACTEN.values()), "the harm: stored as sent (SQLite)"
        return
    assert opgeslagen == []
    assert geweigerd("treffer", "arnhem", "ongeldige_tekst") - voor == len(SLECHTE_CONTACTEN)


@pytest.mark.postgres
async def test_on_postgresql_a_nul_byte_never_reaches_the_database_and_failures_become_dead_letters(
    tmp_path: Path,
    nats_server: NatsServer,
    postgres_url: str,
    beschermd: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL refuses a NUL byte with an error that is not an IntegrityError: unchecked, the
    treffer fails on every delivery. The text check refuses it at once; and should anything fail
    every time, the consumer gives it up at its last delivery (a dead letter) instead of forever."""
    bescherming(monkeypatch, "tekst", beschermd)
    monkeypatch.setattr(onderwerpen, "MAX_AFLEVERINGEN", 3)  # 2 s + 4 s of retries, not hours
    fed = await knooppunten.maak(tmp_path, nats_server.url)
    await op_postgresql(fed["wvv"], await nieuwe_pg_database(postgres_url))
    stroom = onderwerpen.stroom("treffer", "wvv")
    dood = {"stroom": stroom, "soort": "treffer"}
    voor = REGISTRY.get_sample_value("zvh_federation_dead_letters_total", dood) or 0.0
    async with knooppunten.draaiend(fed), aanvaller(fed) as arnhem:
        wvv = fed["wvv"]
        await wvv.aanmelden(aanmelding(betrokkene()))
        await fed.rustig()
        [(_, signaal)] = await arnhem.signalen_van("wvv")
        await arnhem.stuur_treffer(
            "wvv", arnhem.treffer("wvv", signaal.referentie, contact=SLECHTE_CONTACTEN["nul"])
        )
        await fed.rustig(timeout=60)
        na = REGISTRY.get_sample_value("zvh_federation_dead_letters_total", dood) or 0.0
        assert await matches_met(wvv, "arnhem") == []
        if beschermd:
            assert na == voor  # refused on arrival; the database never saw it
            return
        assert na - voor == 1, "the harm: PostgreSQL refused it on every delivery"
        assert wvv.node is not None and wvv.node.signalering is not None
        lokaal = wvv.node.signalering.ctx.lokaal
        sub = await lokaal.pull_subscribe(f"regio.wvv.dood.{stroom}", durable="beheer", stream="REGIO_WVV")
        [brief] = await sub.fetch(1, timeout=5)
        assert brief.headers is not None and brief.headers["Zvh-Dood-Subject"] == "zvh.treffer.wvv.arnhem"


async def op_postgresql(regio: Regio, url: str) -> None:
    """Move a (not yet started) region of a test federation to a fresh PostgreSQL database."""
    from gedeeld import config as configuratie
    from gedeeld import migraties
    from services.node.opstart import COMPONENTEN, Node

    with regio.cfg_pad.open("a") as f:
        f.write(f'\n[database]\nurl = "{url}"\n')
    node = Node(configuratie.laad(regio.cfg_pad, env={}))
    for component in COMPONENTEN:
        await migraties.upgrade(node.db, component)
    await node.db.close()


# -- 6. flood -----------------------------------------------------------------------------------

FLOED = 1500
BURST = 100


@pytest.fixture
async def federatie_met_kleine_burst(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Federatie]:
    """Three regions accepting a burst of BURST signals per other region (default 20,000), so a
    flood of a test's size runs past it."""
    extra = f"signaal_burst = {BURST}\nsignaal_per_uur = 1\n"
    async with knooppunten.draaiend(
        await knooppunten.maak(tmp_path, nats_server.url, federatie_extra=extra)
    ) as fed:
        yield fed


async def test_a_flood_of_valid_junk_signals_from_one_region_is_cut_off_and_real_matches_still_arrive(
    federatie_met_kleine_burst: Federatie, beschermd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed = federatie_met_kleine_burst
    bescherming(monkeypatch, "snelheid", beschermd)
    wvv = fed["wvv"]
    await wvv.aanmelden(aanmelding(betrokkene()))
    await fed.rustig()
    voor_limiet = geweigerd("signaal", "arnhem", "limiet")
    voor_gecontroleerd = ontvangen("actief")
    async with aanvaller(fed) as arnhem:
        for _ in range(FLOED):  # validly signed, random tokens: no core publish is refused
            await arnhem.nc.publish(onderwerpen.signaal("arnhem"), arnhem.rommel(arnhem.federatie.epoch))
        await arnhem.nc.flush()

    begin = time.monotonic()
    await fed["haaglanden"].aanmelden(aanmelding(betrokkene()))  # a real match, behind the flood
    await fed.wacht(lambda: _heeft(wvv, "haaglanden"), timeout=120)
    print(f"real match behind {FLOED} junk signals: {time.monotonic() - begin:.1f} s")  # a figure only
    await fed.rustig(timeout=120)

    # wvv and haaglanden each read the flood; the signals they verified and looked up:
    gecontroleerd = ontvangen("actief") - voor_gecontroleerd
    afgekapt = geweigerd("signaal", "arnhem", "limiet") - voor_limiet
    if not beschermd:
        assert gecontroleerd >= 2 * FLOED, "the harm: every junk signal cost a signature check and a lookup"
        assert afgekapt == 0
        return
    # The bucket refills at one an hour: only the burst got past the subject check.
    assert gecontroleerd <= 2 * (BURST + 1) + 2
    assert afgekapt >= 2 * (FLOED - BURST - 1)
