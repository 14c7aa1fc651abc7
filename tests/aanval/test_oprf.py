"""One dishonest region tries to recover BSNs through the OPRF: issue 11, parts 3 and 7.

The federation is the production shape (deploy/operatie.py: three regions with TLS, a 3-server hub
cluster, a leaf node per region, real zvh-node processes, t = 2). The attacker is region wvv and
uses only what wvv legitimately holds: its signing key, its key share, its certificates and its
node's NATS password, on a connection to its own leaf node. With t = 2 it needs one other holder's
evaluation per candidate besides its own share.

Each attack first shows that the test sees the harm when the protection is off (haaglanden's holder
runs with the daily cap and ratio check switched off, ``oprf_dagplafond = 0``, ``oprf_verhouding =
0``), so that no test can pass on nothing. arnhem's holder keeps the default cap (its ratio check is
off too, so that it is the daily cap that stops the attack here; tests/federatie covers the ratio).
What the holders did is read from their own /metrics, as their operators see it.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from prometheus_client.parser import text_string_to_metric_families

from gedeeld.config import FederatieConfig
from gedeeld.crypto.drempel import DeelEvaluatie, Verzoek, evalueer_deel
from gedeeld.crypto.groep import Element
from gedeeld.federatie import Federatie, laad
from gedeeld.federatie.bericht import onderteken, open_bericht
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats.hubconfig import inbox_prefix
from gedeeld.nats.verbinding import verbind
from gedeeld.nats.verzoek import Verzoeker
from gedeeld.zvh.v1 import federatie_pb2 as F
from tests.deploy.test_operatie import Regio, _logs, draaiend, operatie, wacht_op_match
from tests.voorbeelden import BSN_B

# Starting the production federation (deploy/operatie.py) takes a minute or more on a loaded
# machine; it is charged to the first test that uses it.
pytestmark = pytest.mark.timeout(600)

AANVALLER = "wvv"
BEPERKT = "arnhem"  # default daily cap
ONBEPERKT = "haaglanden"  # protection off: the test's detector
BATCH = 256
PLAFOND = FederatieConfig.oprf_dagplafond


@pytest.fixture(scope="module")
def federatie(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    def instellen(map_: Path) -> None:
        # The holders' operators' settings: [federatie] is the last table of node.toml.
        with (map_ / ONBEPERKT / "node.toml").open("a") as f:
            f.write("oprf_dagplafond = 0\noprf_verhouding = 0\n")
        with (map_ / BEPERKT / "node.toml").open("a") as f:
            f.write("oprf_verhouding = 0\n")

    with draaiend(tmp_path_factory.mktemp("aanval"), instellen) as map_:
        yield map_


class Aanvaller:
    """Region wvv's own material, nothing more: keys, share, certificates, NATS password, its leaf."""

    def __init__(self, map_: Path, nc: Client) -> None:
        opzet = json.loads((map_ / "opzet.json").read_text())
        self.federatie: Federatie = laad(map_ / "federatie.reg", bytes.fromhex(opzet["beheerder"]))
        self.sleutels = RegioSleutels.lees(map_ / AANVALLER / "sleutels")
        self.deel = self.federatie.laad_sleuteldeel(AANVALLER, self.sleutels.hpke)
        self.verzoeker = Verzoeker(nc, AANVALLER)  # replies cross the leaves as the node's do

    def verzoek(self, houder: str, invoer: list[bytes]) -> tuple[Verzoek, bytes]:
        verzoek = Verzoek.maak(invoer)
        inhoud = F.OprfVerzoek(
            verzoek_id=str(uuid.uuid4()),
            epoch=self.federatie.epoch,
            geblindeerd=[e.data for e in verzoek.geblindeerd],
            tijdstip_ms=int(time.time() * 1000),
            houder=houder,
        )
        return verzoek, onderteken(
            self.sleutels.ondertekening, AANVALLER, "oprf-verzoek", inhoud.SerializeToString()
        )

    async def stuur(self, houder: str, data: bytes) -> F.OprfAntwoord:
        msg = await self.verzoeker.vraag(houder, f"zvh.oprf.{houder}", data, timeout=10)
        geopend = open_bericht(msg.data, self.federatie, "oprf-antwoord", 1 << 20)
        assert geopend.afzender == houder
        return F.OprfAntwoord.FromString(geopend.inhoud)

    async def kandidaten(self, houder: str, begin: int, aantal: int) -> tuple[int, F.OprfAntwoord]:
        """Evaluate ``aantal`` BSN candidates with wvv's own share plus ``houder``'s: returns how many
        full tokens the attacker could compute, and the holder's last answer."""
        invoer = [f"zvh-matchsleutel-v1\x00bsn\x00{n:09d}".encode() for n in range(begin, begin + aantal)]
        verzoek, data = self.verzoek(houder, invoer)
        antwoord = await self.stuur(houder, data)
        if antwoord.fout:
            return 0, antwoord
        regio = self.federatie.regio(houder)
        ander = DeelEvaluatie(
            regio.index, tuple(Element.lees(e) for e in antwoord.evaluaties), antwoord.bewijs
        )
        verzoek.controleer(ander, regio.commitment)  # genuine evaluations with the registry's share
        eigen = evalueer_deel(self.deel, verzoek.geblindeerd)
        tokens = verzoek.combineer({self.deel.index: eigen, regio.index: ander}, self.federatie.drempel)
        return len(tokens), antwoord


@pytest.fixture
async def aanvaller(federatie: Path) -> AsyncIterator[Aanvaller]:
    opzet = json.loads((federatie / "opzet.json").read_text())
    certs = federatie / "certs"
    tls = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certs / "ca.crt"))
    tls.load_cert_chain(str(certs / AANVALLER / "node.crt"), str(certs / AANVALLER / "node.key"))
    nc = await verbind(
        f"tls://127.0.0.1:{opzet['poorten'][AANVALLER]['leaf']}",
        "aanvaller",
        user="node",
        password=(federatie / AANVALLER / "nats-wachtwoord").read_text().strip(),
        tls=tls,
        inbox_prefix=inbox_prefix(AANVALLER),
    )
    try:
        yield Aanvaller(federatie, nc)
    finally:
        await nc.close()


def _get(map_: Path, regio: str, pad: str) -> str:
    poort = json.loads((map_ / "opzet.json").read_text())["poorten"][regio]["beheer"]
    conn = http.client.HTTPConnection("127.0.0.1", poort, timeout=10)
    try:
        conn.request("GET", pad)
        antwoord = conn.getresponse()
        assert antwoord.status == 200, antwoord.status
        return antwoord.read().decode()
    finally:
        conn.close()


def metriek(map_: Path, regio: str, naam: str, **labels: str) -> float:
    """A counter on the region's /metrics (its operators' view); 0 when the series does not exist."""
    for familie in text_string_to_metric_families(_get(map_, regio, "/metrics")):
        for s in familie.samples:
            if s.name == naam and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def evaluaties_voor(map_: Path, houder: str, aanvrager: str = AANVALLER) -> float:
    return metriek(map_, houder, "zvh_oprf_evaluations_total", aanvrager=aanvrager)


async def test_enumeration_is_stopped_by_the_daily_cap_and_others_keep_their_tokens(
    federatie: Path, aanvaller: Aanvaller
) -> None:
    # The harm, where the protection is off: far more candidates than a day's cap, every one a
    # genuine evaluation from which wvv computes the full token with its own share.
    onbeperkt = 0
    for i in range(2 * PLAFOND // BATCH + 1):
        n, antwoord = await aanvaller.kandidaten(ONBEPERKT, i * BATCH, BATCH)
        assert antwoord.fout == F.OPRF_FOUT_GEEN, antwoord.fout_uitleg
        onbeperkt += n
    assert onbeperkt > 2 * PLAFOND
    assert evaluaties_voor(federatie, ONBEPERKT) >= onbeperkt

    # The same loop against a holder with the default cap: stopped at exactly the cap.
    voor = metriek(federatie, BEPERKT, "zvh_oprf_rejected_total", reden="dagplafond", aanvrager=AANVALLER)
    beperkt, weigering = 0, None
    for i in range(2 * PLAFOND // BATCH + 1):
        n, antwoord = await aanvaller.kandidaten(BEPERKT, i * BATCH, min(BATCH, PLAFOND - beperkt) or 1)
        if antwoord.fout:
            weigering = antwoord
            break
        beperkt += n
    assert weigering is not None and weigering.fout == F.OPRF_FOUT_DAGPLAFOND
    assert "00:00 UTC" in weigering.fout_uitleg and 0 < weigering.opnieuw_na <= 86_400
    assert beperkt == PLAFOND
    assert evaluaties_voor(federatie, BEPERKT) <= PLAFOND
    na = metriek(federatie, BEPERKT, "zvh_oprf_rejected_total", reden="dagplafond", aanvrager=AANVALLER)
    assert na - voor == 1

    # Meanwhile the other regions' normal work gets its tokens: arnhem and haaglanden know the same
    # person, both are pseudonymised (asking wvv's and each other's holders), and the match arrives.
    arnhem, haaglanden = Regio(federatie, "arnhem"), Regio(federatie, "haaglanden")
    eerste = arnhem.aanmelden(BSN_B, "Visser")
    andere = haaglanden.aanmelden(BSN_B, "Visser")
    assert wacht_op_match(arnhem, eerste).andere_regio == "haaglanden"
    assert wacht_op_match(haaglanden, andere).andere_regio == "arnhem"


async def test_a_captured_request_cannot_be_replayed_nor_forwarded(
    federatie: Path, aanvaller: Aanvaller
) -> None:
    # The detector: a fresh request is answered, and the holder's counter shows it.
    voor = evaluaties_voor(federatie, ONBEPERKT)
    _, data = aanvaller.verzoek(ONBEPERKT, [b"zvh-matchsleutel-v1\x00bsn\x00111222333"])
    assert (await aanvaller.stuur(ONBEPERKT, data)).fout == F.OPRF_FOUT_GEEN
    assert evaluaties_voor(federatie, ONBEPERKT) == voor + 1

    herhaald_voor = metriek(
        federatie, ONBEPERKT, "zvh_oprf_rejected_total", reden="herhaald", aanvrager=AANVALLER
    )
    for _ in range(3):  # to fill the holder's audit log
        assert (await aanvaller.stuur(ONBEPERKT, data)).fout == F.OPRF_FOUT_HERHAALD
    herhaald = metriek(federatie, ONBEPERKT, "zvh_oprf_rejected_total", reden="herhaald", aanvrager=AANVALLER)
    assert herhaald == herhaald_voor + 3
    assert evaluaties_voor(federatie, ONBEPERKT) == voor + 1
    # Forwarded to another holder: it names haaglanden, so arnhem refuses it.
    doorgestuurd_voor = metriek(
        federatie, BEPERKT, "zvh_oprf_rejected_total", reden="verkeerde_houder", aanvrager=AANVALLER
    )
    arnhem_voor = evaluaties_voor(federatie, BEPERKT)
    assert (await aanvaller.stuur(BEPERKT, data)).fout == F.OPRF_FOUT_VERKEERDE_HOUDER

    # After the holder restarts the request is still known (the ids are in its database).
    assert operatie(federatie, "stop", f"node-{ONBEPERKT}").returncode == 0
    r = operatie(federatie, "start", f"node-{ONBEPERKT}")
    assert r.returncode == 0, r.stderr + _logs(federatie)
    assert (await aanvaller.stuur(ONBEPERKT, data)).fout == F.OPRF_FOUT_HERHAALD

    assert evaluaties_voor(federatie, BEPERKT) == arnhem_voor
    assert (
        metriek(federatie, BEPERKT, "zvh_oprf_rejected_total", reden="verkeerde_houder", aanvrager=AANVALLER)
        == doorgestuurd_voor + 1
    )
    # The restarted holder's counters start at 0: its one refusal since the restart is the replay.
    assert evaluaties_voor(federatie, ONBEPERKT) == 0
    assert (
        metriek(federatie, ONBEPERKT, "zvh_oprf_rejected_total", reden="herhaald", aanvrager=AANVALLER) == 1
    )


async def test_status_pages_spend_no_evaluations(federatie: Path, aanvaller: Aanvaller) -> None:
    holders = ("wvv", "arnhem", "haaglanden")

    def alle_evaluaties() -> dict[tuple[str, str], float]:
        return {(h, a): evaluaties_voor(federatie, h, a) for h in holders for a in holders}

    # The detector: one evaluation shows in the holder's counters.
    voor = alle_evaluaties()
    _, data = aanvaller.verzoek(ONBEPERKT, [b"zvh-matchsleutel-v1\x00bsn\x00999888777"])
    assert (await aanvaller.stuur(ONBEPERKT, data)).fout == F.OPRF_FOUT_GEEN
    na = alle_evaluaties()
    assert na[ONBEPERKT, AANVALLER] == voor[ONBEPERKT, AANVALLER] + 1

    pings_voor = metriek(federatie, BEPERKT, "zvh_oprf_pings_total", aanvrager=AANVALLER)
    for _ in range(20):  # unauthenticated, as anyone who reaches the admin port can
        doc = json.loads(_get(federatie, AANVALLER, "/status"))
        assert doc["key_shares"] == {"wvv": "ok", "arnhem": "ok", "haaglanden": "ok"}
    assert alle_evaluaties() == na
    # The holders were checked (pinged), at most once per cache period however often /status is asked.
    pings = metriek(federatie, BEPERKT, "zvh_oprf_pings_total", aanvrager=AANVALLER) - pings_voor
    assert 1 <= pings < 20
