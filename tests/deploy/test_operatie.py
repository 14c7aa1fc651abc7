"""The README's operator walkthrough, run for real: three regions with TLS on loopback, each a node
behind its own leaf node on a 3-server hub cluster (deploy/operatie.py, which runs zvhctl,
nats-server and zvh-node as an operator would). ``zvhctl status`` shows them green; stopping one
region's leaf turns it red within seconds; restarting the leaf turns it green with the backlog
drained, and what was registered meanwhile is matched.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from gedeeld.pki.ca import lees_sleutelpaar, maak_certificaat
from gedeeld.zvh.v1 import casus_pb2_grpc, samenwerking_pb2_grpc
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from tests.voorbeelden import BSN_A, BSN_B, aanmelding, betrokkene

# Starting the production federation (deploy/operatie.py) takes a minute or more on a loaded
# machine; it is charged to the first test that uses it.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OPERATIE = ROOT / "deploy" / "operatie.py"


def operatie(map_: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(OPERATIE), *args, "--map", str(map_)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def status(map_: Path, regio: str) -> tuple[int, dict[str, Any]]:
    """``zvhctl status --json`` of one region: exit code and document (empty when unreachable)."""
    r = subprocess.run(
        [str(BIN / "zvhctl"), "--config", f"{regio}/node.toml", "status", "--json", "--timeout", "5"],
        cwd=map_,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    try:
        doc = json.loads(r.stdout)
    except json.JSONDecodeError:
        doc = {}
    return r.returncode, doc


def wacht_op_status(map_: Path, regio: str, code: int, seconden: float) -> dict[str, Any]:
    einde = time.monotonic() + seconden
    while True:
        rc, doc = status(map_, regio)
        if rc == code:
            return doc
        if time.monotonic() > einde:
            raise AssertionError(f"{regio}: status exit code {rc}, not {code}, after {seconden}s: {doc}")
        time.sleep(0.5)


@contextlib.contextmanager
def draaiend(map_: Path, instellen: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """The production federation of deploy/operatie.py, set up and started in ``map_`` and stopped on
    leaving (also after a failure). ``instellen`` may change the generated settings before the start."""
    r = operatie(map_, "opzetten")
    assert r.returncode == 0, r.stderr
    if instellen is not None:
        instellen(map_)
    try:
        r = operatie(map_, "start")
        assert r.returncode == 0, r.stderr + _logs(map_)
        yield map_
    finally:
        operatie(map_, "stop", timeout=120)


@pytest.fixture(scope="module")
def federatie_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with draaiend(tmp_path_factory.mktemp("operatie")) as map_:
        yield map_


def _logs(map_: Path) -> str:
    return "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted((map_ / "logs").glob("*.log")))


class Regio:
    """A region's gRPC API over mutual TLS, as its users' application reaches it (with the
    region's application certificate that ``opzetten`` issued)."""

    def __init__(self, map_: Path, code: str) -> None:
        opzet = json.loads((map_ / "opzet.json").read_text())
        certs = map_ / "certs"
        creds = grpc.ssl_channel_credentials(
            root_certificates=(certs / "ca.crt").read_bytes(),
            private_key=(certs / code / "toepassing-casussysteem.key").read_bytes(),
            certificate_chain=(certs / code / "toepassing-casussysteem.crt").read_bytes(),
        )
        self.kanaal = grpc.secure_channel(f"127.0.0.1:{opzet['poorten'][code]['grpc']}", creds)
        self.tokens = json.loads((map_ / code / "gebruikers.json").read_text())

    def als(self, gebruiker: str) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.tokens[gebruiker]}"),)

    def aanmelden(self, bsn: str, achternaam: str) -> str:
        stub = casus_pb2_grpc.CasusServiceStub(self.kanaal)
        req = aanmelding(betrokkene(bsn=bsn, achternaam=achternaam))
        return str(stub.Aanmelden(req, metadata=self.als("ic-carla"), timeout=10).casus.casus_id)

    def matches(self) -> list[M.Match]:
        stub = samenwerking_pb2_grpc.MatchServiceStub(self.kanaal)
        return list(stub.Lijst(M.LijstRequest(), metadata=self.als("pr-anna"), timeout=10).matches)


def wacht_op_match(regio: Regio, casus_id: str, seconden: float = 30) -> M.Match:
    einde = time.monotonic() + seconden
    while time.monotonic() < einde:
        for m in regio.matches():
            if m.casus_id == casus_id:
                return m
        time.sleep(0.2)
    raise AssertionError(f"no match for casus {casus_id} within {seconden}s")


def test_three_tls_regions_green_a_stopped_leaf_red_and_back_green(federatie_tls: Path) -> None:
    map_ = federatie_tls
    for code in ("wvv", "arnhem", "haaglanden"):
        doc = wacht_op_status(map_, code, 0, 30)
        assert doc["status"] == "green"
        checks = {c["name"]: c for c in doc["checks"]}
        assert checks["nats"]["detail"].startswith("connected to tls://127.0.0.1:")
        assert checks["hub"]["detail"] == "federation streams on JetStream domain 'hub' reachable"
        assert doc["key_shares"] == {"wvv": "ok", "arnhem": "ok", "haaglanden": "ok"}

    wvv, arnhem = Regio(map_, "wvv"), Regio(map_, "arnhem")
    # One person in two regions: pseudonymised over the leaves (OPRF requests and their answers
    # cross two leaf connections), signalled on the hub, matched on both sides.
    eerste = wvv.aanmelden(BSN_A, "Berg")
    andere = arnhem.aanmelden(BSN_A, "Berg")
    assert wacht_op_match(wvv, eerste).andere_regio == "arnhem"
    assert wacht_op_match(arnhem, andere).andere_regio == "wvv"

    # wvv's leaf goes down: its node is cut off from everything, and says so at once.
    begin = time.monotonic()
    assert operatie(map_, "stop", "leaf-wvv").returncode == 0
    doc = wacht_op_status(map_, "wvv", 2, 10)
    assert time.monotonic() - begin < 10
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["nats"]["status"] == "red" and "not connected" in checks["nats"]["detail"]

    # Registrations go on meanwhile; the event waits in the outbox.
    tweede = wvv.aanmelden(BSN_B, "Jansen")
    arnhem_tweede = arnhem.aanmelden(BSN_B, "Jansen")
    rc, doc = status(map_, "wvv")
    assert rc == 2 and doc["outbox"]["casusregister"] >= 1

    # The leaf comes back: the node reconnects, drains its backlog and turns green.
    assert operatie(map_, "start", "leaf-wvv").returncode == 0, _logs(map_)
    doc = wacht_op_status(map_, "wvv", 0, 60)
    assert doc["outbox"] == {"casusregister": 0, "signalering": 0, "samenwerking": 0}
    assert all(s["pending"] == 0 and s["ack_pending"] == 0 for s in doc["streams"])
    assert wacht_op_match(wvv, tweede).andere_regio == "arnhem"
    assert wacht_op_match(arnhem, arnhem_tweede).andere_regio == "wvv"
    assert [m.casus_id for m in wvv.matches()].count(tweede) == 1


def test_start_up_errors_are_one_clear_line(federatie_tls: Path) -> None:
    map_ = federatie_tls
    # An expired NATS client certificate.
    ca = lees_sleutelpaar(map_ / "certs" / "ca.crt", map_ / "certs" / "ca.key")
    verlopen = maak_certificaat(
        ca, "wvv", geldig_vanaf=datetime.now(UTC) - timedelta(days=400), geldig=timedelta(days=365)
    )
    cert, key = verlopen.schrijf(map_ / "verlopen", "node")
    config = (map_ / "wvv" / "node.toml").read_text()
    config = config.replace('cert = "../certs/wvv/node.crt"', f'cert = "{cert}"', 1)
    config = config.replace('key = "../certs/wvv/node.key"', f'key = "{key}"', 1)
    (map_ / "wvv" / "verlopen.toml").write_text(config)
    fout = _start_mislukt(map_, "wvv/verlopen.toml")
    assert fout.startswith("zvh-node: nats.cert: certificate ") and " expired on " in fout

    # Another region's certificate: the registry says whose OIN it names.
    config = (map_ / "wvv" / "node.toml").read_text().replace("certs/wvv/node.", "certs/arnhem/node.")
    (map_ / "wvv" / "andermans.toml").write_text(config)
    fout = _start_mislukt(map_, "wvv/andermans.toml")
    assert fout == (
        f"zvh-node: tls.cert: certificate {map_ / 'certs' / 'arnhem' / 'node.crt'} names OIN "
        "00000000000000000002, but the federation registry gives region wvv OIN 00000000000000000001"
    )

    # A hub that does not answer: arnhem's leaf runs, but the three hub servers are down.
    assert operatie(map_, "stop", "node-arnhem", "hub-1", "hub-2", "hub-3").returncode == 0
    fout = _start_mislukt(map_, "arnhem/node.toml")
    assert fout.startswith("zvh-node: the federation hub (JetStream domain 'hub') does not answer")


def _start_mislukt(map_: Path, config: str) -> str:
    r = subprocess.run(
        [str(BIN / "zvh-node"), "--config", config],
        cwd=map_,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2, r.stderr
    regels = [regel for regel in r.stderr.splitlines() if not regel.startswith("{")]  # JSON log lines
    assert len(regels) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return regels[0]
