"""Attack: region arnhem, using only what it legitimately holds (its node and leaf certificates, a
user and an application certificate of its own, all signed by the federation's CA) plus a token
stolen from wvv, calls wvv's gRPC API. Against a federation in the production shape
(deploy/operatie.py: 3 regions with TLS, a 3-server hub cluster, a leaf node per region, real
zvh-node processes).

Each attack first shows that it would do harm: with the protection switched off in wvv's
configuration (``[tls] clientcertificaten = "ca"``, any certificate of the CA), the same call with
the same credentials lists wvv's cases. With the protection on (the default) it is refused with
PERMISSION_DENIED, counted in wvv's metrics and logged without names. wvv's own application
certificate keeps working, and so do garbage bytes get INVALID_ARGUMENT at the real node.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import casus_pb2_grpc, samenwerking_pb2_grpc
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from tests.deploy.test_operatie import _logs, draaiend, operatie
from tests.voorbeelden import BSN_A, aanmelding, betrokkene

# Starting the production federation (deploy/operatie.py) takes a minute or more on a loaded
# machine; it is charged to the first test that uses it.
pytestmark = pytest.mark.timeout(600)

BIN = Path(sys.executable).parent
TOEPASSING = "toepassing-casussysteem"  # issued by operatie.py opzetten for every region

# What arnhem holds (and, for the last two, what sits on wvv's own machines): certificate file
# stems under certs/.
AANVALLERS = {
    "arnhem node": "arnhem/node",
    "arnhem leaf": "arnhem/leaf",
    "arnhem gebruiker": "arnhem/gebruiker-pr-anna",
    "arnhem toepassing": f"arnhem/{TOEPASSING}",
    "wvv node": "wvv/node",
    "wvv leaf": "wvv/leaf",
}


@dataclass
class Federatie:
    map_: Path
    opzet: dict[str, object]
    # Per attacker: what the call did with the protection switched off (filled once, see below).
    zonder_controle: dict[str, tuple[grpc.StatusCode, int]] = field(default_factory=dict)

    def kanaal(self, regio: str, stam: str) -> grpc.Channel:
        certs = self.map_ / "certs"
        creds = grpc.ssl_channel_credentials(
            root_certificates=(certs / "ca.crt").read_bytes(),
            private_key=(certs / f"{stam}.key").read_bytes(),
            certificate_chain=(certs / f"{stam}.crt").read_bytes(),
        )
        poorten = self.opzet["poorten"]
        assert isinstance(poorten, dict)
        return grpc.secure_channel(f"127.0.0.1:{poorten[regio]['grpc']}", creds)

    def token(self, regio: str, gebruiker: str) -> tuple[tuple[str, str]]:
        tokens = json.loads((self.map_ / regio / "gebruikers.json").read_text())
        return (("authorization", f"Bearer {tokens[gebruiker]}"),)

    def metriek(self, regio: str, naam: str) -> float:
        poorten = self.opzet["poorten"]
        assert isinstance(poorten, dict)
        url = f"http://127.0.0.1:{poorten[regio]['beheer']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            tekst = r.read().decode()
        return sum(float(regel.rsplit(" ", 1)[1]) for regel in tekst.splitlines() if regel.startswith(naam))

    def herstart_wvv(self, clientcertificaten: str | None) -> None:
        """wvv's node again, with ``[tls] clientcertificaten`` set (None: the default)."""
        config = self.map_ / "wvv" / "node.toml"
        tekst = "\n".join(
            r for r in config.read_text().splitlines() if not r.startswith("clientcertificaten")
        )
        if clientcertificaten is not None:
            tekst = tekst.replace(
                'client_ca = "../certs/ca.crt"',
                f'client_ca = "../certs/ca.crt"\nclientcertificaten = "{clientcertificaten}"',
            )
        config.write_text(tekst + "\n")
        assert operatie(self.map_, "stop", "node-wvv").returncode == 0
        r = operatie(self.map_, "start", "node-wvv")
        assert r.returncode == 0, r.stderr + _logs(self.map_)


def zoek_bij_wvv(fed: Federatie, stam: str) -> tuple[grpc.StatusCode, int]:
    """The attack: list wvv's cases with a stolen wvv token over a connection with ``stam``'s
    certificate. (status, number of cases seen)."""
    with fed.kanaal("wvv", stam) as kanaal:
        try:
            resp = casus_pb2_grpc.CasusServiceStub(kanaal).Zoeken(
                S.ZoekenRequest(), metadata=fed.token("wvv", "nm-dirk"), timeout=10
            )
        except grpc.RpcError as e:
            return e.code(), 0
    return grpc.StatusCode.OK, len(resp.casussen)


@pytest.fixture(scope="module")
def federatie(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federatie]:
    with draaiend(tmp_path_factory.mktemp("aanval-grpc")) as map_:
        fed = Federatie(map_, json.loads((map_ / "opzet.json").read_text()))
        # arnhem's operator issues a user certificate for one of its own people.
        r = subprocess.run(
            [
                str(BIN / "zvhctl"), "certs", "--register", "federatie.reg", "--beheerder",
                str(fed.opzet["beheerder"]), "--uit", "certs", "--regio", "arnhem", "--gebruiker", "pr-anna",
            ],
            cwd=map_, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        # Something worth stealing: one case in wvv, registered through wvv's own application.
        with fed.kanaal("wvv", f"wvv/{TOEPASSING}") as kanaal:
            casus_pb2_grpc.CasusServiceStub(kanaal).Aanmelden(
                aanmelding(betrokkene(bsn=BSN_A, achternaam="Berg")),
                metadata=fed.token("wvv", "ic-carla"),
                timeout=10,
            )
        # The harm, shown once for every attacker: wvv with the protection switched off.
        fed.herstart_wvv("ca")
        try:
            fed.zonder_controle = {naam: zoek_bij_wvv(fed, stam) for naam, stam in AANVALLERS.items()}
        finally:
            fed.herstart_wvv(None)
        yield fed


@pytest.mark.parametrize("aanvaller", sorted(AANVALLERS))
def test_a_certificate_that_is_no_client_of_wvv_gets_nothing_even_with_a_stolen_token(
    federatie: Federatie, aanvaller: str
) -> None:
    # Without the protection, this very call reads wvv's case list: the test can see the harm.
    assert federatie.zonder_controle[aanvaller] == (grpc.StatusCode.OK, 1)

    voor = federatie.metriek("wvv", "zvh_grpc_client_certificate_refused_total")
    assert zoek_bij_wvv(federatie, AANVALLERS[aanvaller]) == (grpc.StatusCode.PERMISSION_DENIED, 0)
    with federatie.kanaal("wvv", AANVALLERS[aanvaller]) as kanaal:
        with pytest.raises(grpc.RpcError) as info:
            samenwerking_pb2_grpc.MatchServiceStub(kanaal).Lijst(
                M.LijstRequest(), metadata=federatie.token("wvv", "pr-anna"), timeout=10
            )
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "regio wvv" in (info.value.details() or "")
        # Writing is refused as well, and nothing is stored.
        with pytest.raises(grpc.RpcError) as info:
            casus_pb2_grpc.CasusServiceStub(kanaal).Aanmelden(
                aanmelding(), metadata=federatie.token("wvv", "ic-carla"), timeout=10
            )
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert federatie.metriek("wvv", "zvh_grpc_client_certificate_refused_total") == voor + 3
    with federatie.kanaal("wvv", f"wvv/{TOEPASSING}") as kanaal:
        resp = casus_pb2_grpc.CasusServiceStub(kanaal).Zoeken(
            S.ZoekenRequest(), metadata=federatie.token("wvv", "nm-dirk"), timeout=10
        )
        assert len(resp.casussen) == 1


def test_the_refusals_are_logged_without_names(federatie: Federatie) -> None:
    zoek_bij_wvv(federatie, "arnhem/gebruiker-pr-anna")
    regels = [
        json.loads(r)
        for r in (federatie.map_ / "logs" / "node-wvv.log").read_text().splitlines()
        if r.startswith("{") and "grpc client certificate refused" in r
    ]
    assert regels, "refusals are logged"
    tekst = json.dumps(regels)
    for naam in ("pr-anna", "casussysteem", "zvh-leaf", "00000000000000000002", "arnhem"):
        assert naam not in tekst


def test_wvvs_own_application_certificate_works_and_arnhems_does_not(federatie: Federatie) -> None:
    with federatie.kanaal("wvv", f"wvv/{TOEPASSING}") as kanaal:
        c = casus_pb2_grpc.CasusServiceStub(kanaal).Aanmelden(
            aanmelding(), metadata=federatie.token("wvv", "ic-carla"), timeout=10
        )
        assert c.casus.regio == "wvv"
    # arnhem's own application with arnhem's own token works at arnhem, not at wvv.
    with federatie.kanaal("arnhem", f"arnhem/{TOEPASSING}") as kanaal:
        casus_pb2_grpc.CasusServiceStub(kanaal).Zoeken(
            S.ZoekenRequest(), metadata=federatie.token("arnhem", "nm-dirk"), timeout=10
        )
    with federatie.kanaal("wvv", f"arnhem/{TOEPASSING}") as kanaal:
        with pytest.raises(grpc.RpcError) as info:
            casus_pb2_grpc.CasusServiceStub(kanaal).Zoeken(
                S.ZoekenRequest(), metadata=federatie.token("arnhem", "nm-dirk"), timeout=10
            )
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_garbage_bytes_at_the_real_node_get_invalid_argument(federatie: Federatie) -> None:
    with federatie.kanaal("wvv", f"wvv/{TOEPASSING}") as kanaal:
        # No serializers: the bytes go out as they are, the reply comes back as bytes.
        rauw: grpc.UnaryUnaryMultiCallable[bytes, bytes] = kanaal.unary_unary(
            "/zvh.v1.CasusService/Aanmelden"
        )
        with pytest.raises(grpc.RpcError) as info:
            rauw(b"\x0a\x05ab", metadata=federatie.token("wvv", "ic-carla"), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (info.value.details() or "").startswith("het verzoek kon niet worden gelezen")
