"""Threshold pseudonymisation over a real nats-server: 5 regions, t = 3."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack

import pytest
from nats.aio.client import Client

from gedeeld.crypto.groep import Scalar
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.oprf import oprf
from gedeeld.crypto.shamir import Sleuteldeel, herstel
from gedeeld.db import Database
from gedeeld.federatie.bericht import onderteken, open_bericht
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.federatie.snelheidslimiet import Limiet
from gedeeld.fouten import UnavailableError
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.sleuteldeel.server import SleuteldeelServer
from services.sleuteldeel.service import Bescherming, Sleuteldeelhouder
from tests.federatie.opzet import ProefFederatie, boekhouding, maak_federatie

SLEUTELS = [f"zvh-matchsleutel-v1\x00bsn\x00{n:09d}".encode() for n in range(40)]
RUIM = Limiet(per_seconde=10_000, burst=10_000)
ONBEPERKT = Bescherming(dagplafond=0, verhouding=0)


class Wachttijden(TypedDict, total=False):
    """The client's time limits a test may shorten or stretch (Pseudonimiseerder's keywords)."""

    deadline: float
    per_houder: float


@dataclass
class Opstelling:
    tf: ProefFederatie
    servers: dict[str, SleuteldeelServer]
    verbindingen: list[Client]
    url: str
    tmp: Path
    databases: list[Database] = field(default_factory=list)

    async def client(self, code: str = "wvv", **kw: Unpack[Wachttijden]) -> Pseudonimiseerder:
        nc = await verbind(self.url, f"client-{code}")
        self.verbindingen.append(nc)
        return Pseudonimiseerder(nc, code, self.tf.federatie, self.tf.regios[code].ondertekening, **kw)

    async def start_houder(
        self,
        code: str,
        deel: Sleuteldeel | None = None,
        limiet: Limiet = RUIM,
        bescherming: Bescherming = ONBEPERKT,
        naam: str = "",
    ) -> Sleuteldeelhouder:
        """A holder instance over the holder's own database (``tmp/<code>.db``, shared by its instances)."""
        nc = await verbind(self.url, f"sleuteldeel-{code}")
        self.verbindingen.append(nc)
        boek, db = await boekhouding(self.tmp / f"{code}.db")
        self.databases.append(db)
        houder = Sleuteldeelhouder(
            code,
            self.tf.federatie,
            deel or self.tf.deel(code),
            self.tf.regios[code].ondertekening,
            limiet,
            boekhouding=boek,
            bescherming=bescherming,
        )
        self.servers[naam or code] = SleuteldeelServer(nc, houder)
        await self.servers[naam or code].start()
        return houder

    async def stop_houder(self, code: str) -> None:
        await self.servers.pop(code).stop()

    def sleutel(self) -> Scalar:
        return herstel([self.tf.deel(c) for c in self.tf.regios])


@pytest.fixture
async def opstelling(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Opstelling]:
    o = Opstelling(maak_federatie(5, 3), {}, [], nats_server.url, tmp_path)
    for code in o.tf.regios:
        await o.start_houder(code)
    try:
        yield o
    finally:
        for code in list(o.servers):
            await o.stop_houder(code)
        for nc in o.verbindingen:
            await nc.close()
        for db in o.databases:
            await db.close()


async def test_threshold_tokens_equal_single_key_tokens(opstelling: Opstelling) -> None:
    client = await opstelling.client()
    tokens = await client.tokens(SLEUTELS)
    k = opstelling.sleutel()
    assert tokens == [oprf(k, x) for x in SLEUTELS]
    assert len(set(tokens)) == len(SLEUTELS)


async def test_two_holders_down_still_gives_the_same_tokens(opstelling: Opstelling) -> None:
    voor = await (await opstelling.client()).tokens(SLEUTELS[:5])
    await opstelling.stop_houder("arnhem")
    await opstelling.stop_houder("haaglanden")
    client = await opstelling.client(per_houder=0.5)

    assert await client.tokens(SLEUTELS[:5]) == voor
    assert client.fouten["arnhem"] + client.fouten["haaglanden"] >= 1


async def test_three_holders_down_is_a_clear_unavailable_error(opstelling: Opstelling) -> None:
    for code in ("arnhem", "haaglanden", "ijsselland"):
        await opstelling.stop_houder(code)
    # Room for the two live holders to answer on a loaded machine; the three dead never do.
    client = await opstelling.client(per_houder=3, deadline=15)
    with pytest.raises(UnavailableError, match="2 of 3 key-share holders"):
        await client.tokens(SLEUTELS[:3])


async def test_a_lying_holder_is_ignored_and_reported(opstelling: Opstelling) -> None:
    echt = opstelling.tf.deel("zeeland")
    await opstelling.stop_houder("zeeland")
    await opstelling.start_houder("zeeland", Sleuteldeel(echt.index, Scalar.willekeurig()))
    client = await opstelling.client()
    k = opstelling.sleutel()

    # Rotation makes sure the liar is asked; its answer counts only when it comes before t valid
    # ones (each holder writes its counts to its database first), so ask until it was caught.
    for _ in range(30):
        assert await client.tokens(SLEUTELS[:4]) == [oprf(k, x) for x in SLEUTELS[:4]]
        if client.fouten["zeeland"]:
            break
    assert client.fouten["zeeland"] >= 1


def verzoek(
    tf: ProefFederatie,
    afzender: str = "wvv",
    *,
    n: int = 2,
    epoch: int = 1,
    tijd: int | None = None,
    sleutel: Ondertekensleutel | None = None,
    geblindeerd: list[bytes] | None = None,
    verzoek_id: str | None = None,
    houder: str = "arnhem",
    onboarding: bytes = b"",
) -> bytes:
    from gedeeld.crypto.drempel import Verzoek

    inhoud = F.OprfVerzoek(
        verzoek_id=verzoek_id or str(uuid.uuid4()),
        epoch=epoch,
        geblindeerd=geblindeerd
        if geblindeerd is not None
        else [e.data for e in Verzoek.maak(SLEUTELS[:n]).geblindeerd],
        tijdstip_ms=tijd if tijd is not None else int(time.time() * 1000),
        houder=houder,
        onboarding=onboarding,
    )
    return onderteken(
        sleutel or tf.regios[afzender].ondertekening, afzender, "oprf-verzoek", inhoud.SerializeToString()
    )


async def antwoord(opstelling: Opstelling, data: bytes, houder: str = "arnhem") -> F.OprfAntwoord:
    nc = await verbind(opstelling.url, "aanvaller")
    opstelling.verbindingen.append(nc)
    msg = await nc.request(f"zvh.oprf.{houder}", data, timeout=5)
    geopend = open_bericht(msg.data, opstelling.tf.federatie, "oprf-antwoord", 1 << 20)
    assert geopend.afzender == houder
    return F.OprfAntwoord.FromString(geopend.inhoud)


def geweigerd(reden: str, aanvrager: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("zvh_oprf_rejected_total", {"reden": reden, "aanvrager": aanvrager}) or 0


async def test_bad_requests_get_a_clear_refusal_and_the_service_keeps_serving(
    opstelling: Opstelling, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tf = opstelling.tf
    herhaald = verzoek(tf, verzoek_id="eenmalig")
    await antwoord(opstelling, herhaald)
    gevallen = {
        F.OPRF_FOUT_ONLEESBAAR: b"\x00\x01garbage",
        F.OPRF_FOUT_TE_GROOT: b"x" * (64 * 1024 + 1),
        F.OPRF_FOUT_ONGELDIGE_HANDTEKENING: verzoek(tf, sleutel=Ondertekensleutel.nieuw()),
        F.OPRF_FOUT_VERKEERDE_EPOCH: verzoek(tf, epoch=2),
        F.OPRF_FOUT_VERLOPEN: verzoek(tf, tijd=int(time.time() * 1000) - 5 * 60_000),
        F.OPRF_FOUT_ONGELDIG_ELEMENT: verzoek(tf, geblindeerd=[bytes(32)]),
    }
    onbekend = onderteken(Ondertekensleutel.nieuw(), "atlantis", "oprf-verzoek", b"")
    te_veel = verzoek(tf, geblindeerd=[bytes(32)] * 257)
    voor = {
        (r, a): geweigerd(r, a)
        for r, a in (("onleesbaar", "onbekend"), ("onbekende_regio", "onbekend"), ("verlopen", "wvv"))
    }
    herhaald_voor = geweigerd("herhaald", "wvv")

    for code, data in gevallen.items():
        a = await antwoord(opstelling, data)
        assert a.fout == code, F.OprfFout.Name(code)
        assert a.fout_uitleg and not a.evaluaties
    assert (await antwoord(opstelling, onbekend)).fout == F.OPRF_FOUT_ONBEKENDE_REGIO
    assert (await antwoord(opstelling, te_veel)).fout == F.OPRF_FOUT_TE_GROOT
    assert (await antwoord(opstelling, herhaald)).fout == F.OPRF_FOUT_HERHAALD  # replay

    goed = await antwoord(opstelling, verzoek(tf, n=3))
    assert goed.fout == F.OPRF_FOUT_GEEN and len(goed.evaluaties) == 3
    na = {k: geweigerd(*k) for k in voor}
    assert na["onleesbaar", "onbekend"] - voor["onleesbaar", "onbekend"] == 1
    assert na["onbekende_regio", "onbekend"] - voor["onbekende_regio", "onbekend"] == 1
    assert na["verlopen", "wvv"] - voor["verlopen", "wvv"] == 1
    assert geweigerd("herhaald", "wvv") - herhaald_voor == 1
    # No input, blinded value or share in any log line.
    logtekst = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    deel = tf.deel("arnhem").waarde.data
    for geheim in [*SLEUTELS[:3], deel, deel.hex().encode()]:
        assert geheim.decode(errors="replace") not in logtekst


async def test_rate_limit_per_requesting_region(opstelling: Opstelling) -> None:
    await opstelling.stop_houder("arnhem")
    await opstelling.start_houder("arnhem", limiet=Limiet(per_seconde=0.01, burst=5))
    tf = opstelling.tf
    assert (await antwoord(opstelling, verzoek(tf, n=4))).fout == F.OPRF_FOUT_GEEN
    beperkt = await antwoord(opstelling, verzoek(tf, n=4))
    assert beperkt.fout == F.OPRF_FOUT_LIMIET and beperkt.opnieuw_na > 0
    ander = await antwoord(opstelling, verzoek(tf, "zeeland", n=4))  # another region's own bucket
    assert ander.fout == F.OPRF_FOUT_GEEN


def evaluaties(aanvrager: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("zvh_oprf_evaluations_total", {"aanvrager": aanvrager}) or 0


async def test_a_request_for_one_holder_is_refused_by_another(opstelling: Opstelling) -> None:
    tf = opstelling.tf
    voor = geweigerd("verkeerde_houder", "wvv")
    voor_evaluaties = evaluaties("wvv")
    # Signed by wvv for arnhem, forwarded to haaglanden.
    a = await antwoord(opstelling, verzoek(tf, houder="arnhem"), houder="haaglanden")
    assert a.fout == F.OPRF_FOUT_VERKEERDE_HOUDER and not a.evaluaties
    leeg = await antwoord(opstelling, verzoek(tf, houder=""), houder="arnhem")  # names none
    assert leeg.fout == F.OPRF_FOUT_VERKEERDE_HOUDER
    assert geweigerd("verkeerde_houder", "wvv") - voor == 2
    assert evaluaties("wvv") == voor_evaluaties
    assert (await antwoord(opstelling, verzoek(tf, houder="arnhem"))).fout == F.OPRF_FOUT_GEEN


async def test_a_replay_is_refused_by_another_instance_of_the_holder(opstelling: Opstelling) -> None:
    """Two instances of arnhem's holder (one queue group, one database): once either answered a
    request, both refuse it, also after a restart (the ids are in the database, not in memory)."""
    tf = opstelling.tf
    tweede = await opstelling.start_houder("arnhem", naam="arnhem-2")
    eerste = opstelling.servers["arnhem"]._houder
    data = verzoek(tf, n=2)

    def lees(antw: bytes) -> F.OprfAntwoord:
        return F.OprfAntwoord.FromString(open_bericht(antw, tf.federatie, "oprf-antwoord", 1 << 20).inhoud)

    assert lees(await eerste.behandel(data)).fout == F.OPRF_FOUT_GEEN
    assert lees(await tweede.behandel(data)).fout == F.OPRF_FOUT_HERHAALD
    # Over NATS the queue group picks an instance; whichever it is refuses.
    for _ in range(4):
        assert (await antwoord(opstelling, data)).fout == F.OPRF_FOUT_HERHAALD
    await opstelling.stop_houder("arnhem-2")
    await opstelling.stop_houder("arnhem")
    herstart = await opstelling.start_houder("arnhem")
    assert lees(await herstart.behandel(data)).fout == F.OPRF_FOUT_HERHAALD


async def test_the_daily_cap_holds_per_region_and_survives_a_restart(opstelling: Opstelling) -> None:
    tf = opstelling.tf
    plafond = Bescherming(dagplafond=10, verhouding=0)
    await opstelling.stop_houder("arnhem")
    await opstelling.start_houder("arnhem", bescherming=plafond)
    voor = geweigerd("dagplafond", "wvv")
    assert (await antwoord(opstelling, verzoek(tf, n=4))).fout == F.OPRF_FOUT_GEEN
    assert (await antwoord(opstelling, verzoek(tf, n=4))).fout == F.OPRF_FOUT_GEEN
    vol = await antwoord(opstelling, verzoek(tf, n=4))
    assert vol.fout == F.OPRF_FOUT_DAGPLAFOND and not vol.evaluaties
    assert 0 < vol.opnieuw_na <= 86_400 and "00:00 UTC" in vol.fout_uitleg
    assert (await antwoord(opstelling, verzoek(tf, n=2))).fout == F.OPRF_FOUT_GEEN  # exactly 10
    assert geweigerd("dagplafond", "wvv") - voor == 1

    await opstelling.stop_houder("arnhem")
    await opstelling.start_houder("arnhem", bescherming=plafond)
    assert (await antwoord(opstelling, verzoek(tf, n=1))).fout == F.OPRF_FOUT_DAGPLAFOND
    # Another region has its own count.
    assert (await antwoord(opstelling, verzoek(tf, "zeeland", n=4))).fout == F.OPRF_FOUT_GEEN


async def test_an_onboarding_window_signed_by_the_beheerder_adds_evaluations(opstelling: Opstelling) -> None:
    from datetime import UTC, datetime, timedelta

    from gedeeld.federatie.onboarding import teken_onboarding

    tf = opstelling.tf
    await opstelling.stop_houder("arnhem")
    await opstelling.start_houder(
        "arnhem", bescherming=Bescherming(dagplafond=5, verhouding=0, onboarding_max=12)
    )
    nu = datetime.now(UTC)
    venster = teken_onboarding(tf.beheerder, "wvv", 10, nu - timedelta(hours=1), nu + timedelta(days=7))

    assert (await antwoord(opstelling, verzoek(tf, n=4))).fout == F.OPRF_FOUT_GEEN
    assert (await antwoord(opstelling, verzoek(tf, n=4))).fout == F.OPRF_FOUT_DAGPLAFOND
    assert (await antwoord(opstelling, verzoek(tf, n=4, onboarding=venster))).fout == F.OPRF_FOUT_GEEN
    assert (await antwoord(opstelling, verzoek(tf, n=4, onboarding=venster))).fout == F.OPRF_FOUT_GEEN
    assert (await antwoord(opstelling, verzoek(tf, n=4, onboarding=venster))).fout == F.OPRF_FOUT_DAGPLAFOND
    # A second window for the same region shares the holder's bound (12): signing many multiplies nothing.
    tweede = teken_onboarding(tf.beheerder, "wvv", 10, nu - timedelta(hours=1), nu + timedelta(days=7), "b")
    assert (await antwoord(opstelling, verzoek(tf, n=4, onboarding=tweede))).fout == F.OPRF_FOUT_GEEN
    assert (await antwoord(opstelling, verzoek(tf, n=1, onboarding=tweede))).fout == F.OPRF_FOUT_DAGPLAFOND

    vals = teken_onboarding(
        Ondertekensleutel.nieuw(), "wvv", 10, nu - timedelta(hours=1), nu + timedelta(days=1)
    )
    ander = teken_onboarding(tf.beheerder, "zeeland", 10, nu - timedelta(hours=1), nu + timedelta(days=1))
    te_lang = teken_onboarding(tf.beheerder, "wvv", 10, nu - timedelta(hours=1), nu + timedelta(days=60))
    for doc in (vals, ander, te_lang, b"rommel"):
        a = await antwoord(opstelling, verzoek(tf, n=1, onboarding=doc))
        assert a.fout == F.OPRF_FOUT_ONGELDIGE_ONBOARDING, a.fout_uitleg
    # A window that has ended gives nothing (the cap answers), and says so without blaming the file.
    voorbij = teken_onboarding(tf.beheerder, "wvv", 10, nu - timedelta(days=3), nu - timedelta(days=1))
    assert (await antwoord(opstelling, verzoek(tf, n=1, onboarding=voorbij))).fout == F.OPRF_FOUT_DAGPLAFOND


async def test_evaluations_must_stay_in_proportion_to_the_signals_a_region_publishes(
    opstelling: Opstelling,
) -> None:
    """The holder counts a region's signals on the SIGNALEN stream (subjects filter) and allows
    basis + k x signals evaluations over the window."""
    from nats.js.api import StreamConfig

    from services.sleuteldeel.signalen import StroomSignaalTeller

    tf = opstelling.tf
    nc = await verbind(opstelling.url, "signalen")
    opstelling.verbindingen.append(nc)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="SIGNALEN", subjects=["zvh.signaal.>"]))
    await js.publish("zvh.signaal.zeeland", b"x")  # another region's signal gives wvv nothing
    await opstelling.stop_houder("arnhem")
    houder = await opstelling.start_houder(
        "arnhem", bescherming=Bescherming(dagplafond=0, verhouding=2, verhouding_basis=4)
    )
    houder._signalen = StroomSignaalTeller(js, cache_s=0)
    voor = geweigerd("buiten_verhouding", "wvv")

    assert (await antwoord(opstelling, verzoek(tf, n=4))).fout == F.OPRF_FOUT_GEEN
    buiten = await antwoord(opstelling, verzoek(tf, n=1))
    assert buiten.fout == F.OPRF_FOUT_BUITEN_VERHOUDING and buiten.opnieuw_na > 0
    for _ in range(3):
        await js.publish("zvh.signaal.wvv", b"x")
    assert (await antwoord(opstelling, verzoek(tf, n=6))).fout == F.OPRF_FOUT_GEEN  # 4 + 2 x 3
    assert (await antwoord(opstelling, verzoek(tf, n=1))).fout == F.OPRF_FOUT_BUITEN_VERHOUDING
    assert geweigerd("buiten_verhouding", "wvv") - voor == 2


async def test_the_client_reports_a_cap_as_rate_limited_without_asking_more_holders(
    opstelling: Opstelling,
) -> None:
    from gedeeld.fouten import RateLimitedError

    for code in list(opstelling.servers):
        await opstelling.stop_houder(code)
    for code in opstelling.tf.regios:
        await opstelling.start_houder(code, bescherming=Bescherming(dagplafond=5, verhouding=0))
    client = await opstelling.client()
    await client.tokens(SLEUTELS[:4])
    voor = geweigerd("dagplafond", "wvv")

    with pytest.raises(RateLimitedError) as exc:
        await client.tokens(SLEUTELS[:4])
    assert 0 < exc.value.retry_after <= 86_400 and "dagplafond" in exc.value.message
    assert not any(client.fouten.values())  # no holder is taken for failing
    # t+1 = 4 holders were asked, no replacement: at most 4 refusals for the batch.
    assert 1 <= geweigerd("dagplafond", "wvv") - voor <= 4


async def test_a_ping_checks_every_holder_without_an_evaluation(opstelling: Opstelling) -> None:
    echt = opstelling.tf.deel("zeeland")
    await opstelling.stop_houder("zeeland")
    await opstelling.start_houder("zeeland", Sleuteldeel(echt.index, Scalar.willekeurig()))
    client = await opstelling.client()
    voor = evaluaties("wvv")
    from prometheus_client import REGISTRY

    pings_voor = REGISTRY.get_sample_value("zvh_oprf_pings_total", {"aanvrager": "wvv"}) or 0

    peiling = await client.peil()

    assert peiling == {
        "wvv": "ok",
        "arnhem": "ok",
        "haaglanden": "ok",
        "ijsselland": "ok",
        "zeeland": "verkeerd_sleuteldeel",  # serves a share that is not the registry's
    }
    assert evaluaties("wvv") == voor
    assert (REGISTRY.get_sample_value("zvh_oprf_pings_total", {"aanvrager": "wvv"}) or 0) - pings_voor == 5
    # The detector works: one real evaluation moves the counter the pings leave alone.
    await client.tokens(SLEUTELS[:1])
    assert evaluaties("wvv") > voor


async def test_two_instances_share_the_counts_exactly(database_url: str) -> None:
    """Two holder instances (each its own engine) over one database: a request id is taken once,
    and concurrent batches never take more than the cap between them."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from gedeeld import migraties
    from services.sleuteldeel.store import Boekhouding

    eerste, tweede = Database(database_url), Database(database_url)
    try:
        await migraties.upgrade(eerste, "sleuteldeel")
        a, b = Boekhouding(eerste), Boekhouding(tweede)
        nu = datetime.now(UTC)
        later = nu + timedelta(minutes=2)
        genomen = await asyncio.gather(*(x.markeer("wvv", "r-1", later, nu) for x in (a, b, a, b)))
        assert sorted(genomen) == [False, False, False, True]

        uitkomsten = await asyncio.gather(*(x.neem("wvv", 1, nu, dagplafond=10) for x in [a, b] * 7))
        assert uitkomsten.count(None) == 10 and uitkomsten.count("dagplafond") == 4
        assert await a.gebruik("wvv", nu, 14) == (10, 10)
        assert await b.gebruik("arnhem", nu, 14) == (0, 0)
    finally:
        await eerste.close()
        await tweede.close()


def test_the_holders_limits_are_configuration(tmp_path: Path) -> None:
    from gedeeld import config as configuratie
    from gedeeld.fouten import ConfigError
    from services.sleuteldeel.server import bescherming

    tf = maak_federatie(3, 2)
    (tmp_path / "federatie.reg").write_bytes(tf.data)
    tf.regios["wvv"].schrijf(tmp_path / "sleutels")

    def laad(extra: str = "") -> configuratie.NodeConfig:
        (tmp_path / "node.toml").write_text(
            f'regio = "wvv"\ndata_dir = "data"\n[federatie]\nregister = "federatie.reg"\n'
            f'beheerder_sleutel = "{tf.beheerder.publiek.hex()}"\nsleutels = "sleutels"\n{extra}'
        )
        return configuratie.laad(tmp_path / "node.toml", env={})

    assert bescherming(laad()) == Bescherming()
    assert Bescherming().dagplafond == 2000  # the documented default (docs/crypto.md)
    eigen = bescherming(laad("oprf_dagplafond = 500\noprf_verhouding = 0\noprf_verhouding_basis = 10\n"))
    assert (eigen.dagplafond, eigen.verhouding, eigen.verhouding_basis) == (500, 0.0, 10)
    for fout, setting in (
        ("oprf_dagplafond = -1\n", "federatie.oprf_dagplafond"),
        ("oprf_verhouding_dagen = 0\n", "federatie.oprf_verhouding_dagen"),
        ('onboarding = "ontbreekt.bin"\n', "federatie.onboarding"),
    ):
        with pytest.raises(ConfigError) as e:
            laad(fout)
        assert e.value.setting == setting


async def test_replays_do_not_fill_the_audit_log(opstelling: Opstelling) -> None:
    """Refusals are counted each, but audited at most once per region and reason a minute."""
    tf = opstelling.tf
    boek, db = await boekhouding(opstelling.tmp / "audit.db")
    opstelling.databases.append(db)
    records: list[tuple[str, int, str]] = []

    async def auditor(aanvrager: str, aantal: int, resultaat: str) -> None:
        records.append((aanvrager, aantal, resultaat))

    houder = Sleuteldeelhouder(
        "arnhem", tf.federatie, tf.deel("arnhem"), tf.regios["arnhem"].ondertekening, RUIM,
        boekhouding=boek, bescherming=ONBEPERKT, auditor=auditor,
    )  # fmt: skip
    data = verzoek(tf, n=2)
    voor = geweigerd("herhaald", "wvv")
    for _ in range(6):
        await houder.behandel(data)
    assert geweigerd("herhaald", "wvv") - voor == 5
    assert records == [("wvv", 2, "ok"), ("wvv", 0, "herhaald")]


async def test_the_client_attaches_its_onboarding_window(opstelling: Opstelling) -> None:
    from datetime import UTC, datetime, timedelta

    from gedeeld.federatie.onboarding import teken_onboarding
    from gedeeld.fouten import RateLimitedError

    tf = opstelling.tf
    for code in list(opstelling.servers):
        await opstelling.stop_houder(code)
    for code in tf.regios:
        await opstelling.start_houder(code, bescherming=Bescherming(dagplafond=5, verhouding=0))
    nu = datetime.now(UTC)
    venster = teken_onboarding(tf.beheerder, "wvv", 100, nu - timedelta(hours=1), nu + timedelta(days=1))
    nc = await verbind(opstelling.url, "client-onboarding")
    opstelling.verbindingen.append(nc)
    zonder = Pseudonimiseerder(nc, "wvv", tf.federatie, tf.regios["wvv"].ondertekening)
    met = Pseudonimiseerder(nc, "wvv", tf.federatie, tf.regios["wvv"].ondertekening, onboarding=venster)

    with pytest.raises(RateLimitedError):
        await zonder.tokens(SLEUTELS[:8])  # 8 > the cap of 5
    assert await met.tokens(SLEUTELS[:8]) == [oprf(opstelling.sleutel(), x) for x in SLEUTELS[:8]]
