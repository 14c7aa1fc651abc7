"""TLS for the federation hub and the leaf nodes: certificates from ``zvhctl certs``, configs from
``zvhctl federatie nats --tls``, real nats-servers on loopback (three hub servers, two leaves).
The hub identifies a leaf by its certificate (``verify_and_map``): the leaves have no password.

One cluster is started for the module; the tests on it do not change it (the foreign leaves are
extra servers that are stopped again).
"""

from __future__ import annotations

import asyncio
import ssl
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.x509.oid import NameOID
from nats.aio.client import Client
from nats.aio.subscription import Subscription

from gedeeld.config import NatsTlsConfig
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.federatie import ceremonie
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats.hubconfig import HUB_DOMEIN, HubServer, certificaat_dn, inbox_prefix
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import bevestig
from gedeeld.pki.tls import nats_tls_context
from services.cli import natsconfig, zvhctl
from tests.conftest import begrensd
from tests.federatie.opzet import deelnemer
from tests.federatie.test_nats_hub import (
    een,
    genereer,
    kort,
    monitor,
    opnieuw,
    ruim_op,
    servers,
    start_cluster,
    tot,
    vrije_poorten,
)

A, B = "wvv", "arnhem"
OIN = {A: "00000001234567890001", B: "00000001234567890002"}
MODULE = pytest.mark.asyncio(loop_scope="module")


def registry_met_oins(tmp: Path) -> tuple[Path, str]:
    """A signed registry of A and B, each with an OIN."""
    beheerder = Ondertekensleutel.nieuw()
    deelnemers = [replace(deelnemer(r, RegioSleutels.nieuw()), oin=OIN[r]) for r in (A, B)]
    pad = tmp / "federatie.reg"
    pad.write_bytes(ceremonie(deelnemers, 2, beheerder))
    return pad, beheerder.publiek.hex()


@dataclass
class TlsOpzet:
    tmp: Path
    certs: Path
    uit: Path
    reg: Path
    beheerder: str
    hub: list[HubServer]
    hubs: list[NatsServer]
    leaves: dict[str, NatsServer]
    credentials: dict[str, dict[str, str]]
    clients: list[Client] = field(default_factory=list)

    def tls(self, regio: str) -> ssl.SSLContext:
        """The node's context, as the node builds it from its [nats] ca/cert/key."""
        d = self.certs / regio
        return nats_tls_context(NatsTlsConfig(self.certs / "ca.crt", d / "node.crt", d / "node.key"))

    async def node(self, regio: str) -> Client:
        nc = await nats.connect(
            self.leaves[regio].url,
            user=self.credentials[regio]["node_gebruiker"],
            password=self.credentials[regio]["node_wachtwoord"],
            inbox_prefix=inbox_prefix(regio),
            tls=self.tls(regio),
            connect_timeout=3,
        )
        self.clients.append(nc)
        return nc


def certs(*args: str) -> int:
    return zvhctl.main(["certs", *args])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tls_opzet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TlsOpzet]:
    tmp = tmp_path_factory.mktemp("nats-tls")
    reg, beheerder = registry_met_oins(tmp)
    assert certs("--uit", str(tmp / "certs"), "--register", str(reg), "--beheerder", beheerder) == 0
    p = vrije_poorten(12)
    hub = [HubServer("127.0.0.1", *p[4 * i : 4 * i + 4]) for i in range(3)]
    assert genereer(tmp, reg, beheerder, hub, "--tls", str(tmp / "certs")) == 0
    uit = tmp / "nats"
    credentials = {r: tomllib.loads((uit / r / "credentials.toml").read_text()) for r in (A, B)}
    hubs, leaves = servers(tmp, uit, hub)
    o = TlsOpzet(tmp, tmp / "certs", uit, reg, beheerder, hub, hubs, leaves, credentials)
    try:
        await start_cluster(
            hub, hubs, leaves, "hub cluster formed over TLS routes and both leaves connected over TLS"
        )
        argv = ["nats-stromen", "--register", str(reg), "--beheerder", beheerder, "--uit", str(uit)]
        argv += ["--server", f"nats://127.0.0.1:{hub[0].client}", "--tls", str(o.certs)]
        assert await asyncio.to_thread(natsconfig.main, argv) == 0
        beheer = await nats.connect(
            f"tls://127.0.0.1:{hub[0].client}",
            user="beheer",
            password=tomllib.loads((uit / "hub" / "credentials.toml").read_text())["beheer_wachtwoord"],
            tls=nats_tls_context(NatsTlsConfig(o.certs / "ca.crt")),
        )
        o.clients.append(beheer)
        await kort(beheer)
        yield o
    finally:
        await ruim_op(o.clients, [*leaves.values(), *hubs])


@MODULE
async def test_a_signal_over_tls_reaches_the_hub_stream_and_the_other_region(tls_opzet: TlsOpzet) -> None:
    a, b = await tls_opzet.node(A), await tls_opzet.node(B)
    assert a.connected_url is not None and a._server_info.get("tls_required") is True
    a_hub, b_hub = a.jetstream(domain=HUB_DOMEIN, timeout=2), b.jetstream(domain=HUB_DOMEIN, timeout=2)
    ack = await opnieuw(
        partial(a_hub.publish, f"zvh.signaal.{A}", b"signaal", headers={"Nats-Msg-Id": "tls-1"}),
        "a signal into SIGNALEN from A's leaf",
    )
    assert (ack.stream, ack.domain) == ("SIGNALEN", HUB_DOMEIN)
    sub = await opnieuw(partial(b_hub.pull_subscribe_bind, B, "SIGNALEN"), "B's consumer on SIGNALEN")
    msg = await een(sub, "the signal at B")
    assert (msg.subject, msg.data) == (f"zvh.signaal.{A}", b"signaal")
    await msg.ack_sync(timeout=5)
    # Every listener of the hub requires TLS; routes and the leaf node port verify the other side.
    varz = await monitor(tls_opzet.hub[0].monitor, "/varz")
    assert varz["tls_required"] and not varz.get("tls_verify")  # clients: a password, no certificate
    assert varz["cluster"]["tls_required"] and varz["cluster"]["tls_verify"]
    assert varz["leaf"]["tls_required"] and varz["leaf"]["tls_verify"]


def dn(regio: str) -> str:
    return f"SERIALNUMBER={OIN[regio]},CN=zvh-leaf-{regio}"


@MODULE
async def test_a_leaf_without_a_password_is_accepted_by_its_certificate(tls_opzet: TlsOpzet) -> None:
    for r in (A, B):
        leaf = (tls_opzet.uit / r / "leaf.conf").read_text()
        assert "tls://127.0.0.1:" in leaf and "@" not in leaf  # no user, no password in the remotes
        cred = tomllib.loads((tls_opzet.uit / r / "credentials.toml").read_text())
        assert "hub_wachtwoord" not in cred and cred["hub_certificaat"] == dn(r)
    hub1 = (tls_opzet.uit / "hub" / "hub-1.conf").read_text()
    assert '"verify_and_map": true' in hub1
    for r in (A, B):
        assert f'"user": "{dn(r)}",\n' in hub1  # the certificate's subject is the region's user
    # Both leaves are connected (the fixture waited for them), each as its certificate's user.
    namen = {ln["name"] for s in tls_opzet.hub for ln in (await monitor(s.monitor, "/leafz"))["leafs"]}
    assert {f"zvh-leaf-{A}", f"zvh-leaf-{B}"} <= namen


@MODULE
async def test_the_certificate_users_cannot_log_in_as_clients(tls_opzet: TlsOpzet) -> None:
    # The DN users have no password; a client naming one on the hub's client port (TLS, with the
    # CA, even with that leaf's own certificate) is refused: only a leaf node may be that user.
    d = tls_opzet.certs / A
    for context in (
        nats_tls_context(NatsTlsConfig(tls_opzet.certs / "ca.crt")),
        nats_tls_context(NatsTlsConfig(tls_opzet.certs / "ca.crt", d / "leaf.crt", d / "leaf.key")),
    ):
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(
                f"tls://127.0.0.1:{tls_opzet.hub[0].client}",
                user=dn(A),
                password="",
                tls=context,
                connect_timeout=3,
                allow_reconnect=False,
                max_reconnect_attempts=0,
            )


@MODULE
async def test_a_leaf_with_the_certificate_of_another_region_gets_that_regions_permissions(
    tls_opzet: TlsOpzet,
) -> None:
    """A's leaf config, but presenting B's leaf certificate (issued by the federation's CA): the hub
    makes it B (B's account and permissions), whatever the config says; the certificate, not the
    config, is the region."""
    echt = (tls_opzet.uit / A / "leaf.conf").read_text()
    begin = echt.index("leafnodes: ")
    einde = echt.index("\ntls: ", begin)  # the client port's, after the remote
    remote = echt[begin:einde].replace(str(tls_opzet.certs / A / "leaf."), str(tls_opzet.certs / B / "leaf."))
    wissel = echt[:begin] + remote + echt[einde:]
    wissel = (
        wissel.replace(f'"zvh-leaf-{A}"', '"zvh-leaf-wissel"')
        .replace(f'"domain": "{A}"', '"domain": "wissel"')
        .replace(str(tls_opzet.tmp / "leafdata" / A), str(tls_opzet.tmp / "leafdata" / "wissel"))
        .replace(f"{tls_opzet.credentials[A]['node_wachtwoord']}", "wissel-node")
    )
    # B's certificate and key in the remote; A's still on the client port, for A's node.
    assert wissel.count(str(tls_opzet.certs / B / "leaf.")) == 2
    assert wissel.count(str(tls_opzet.certs / A / "leaf.")) == 2
    conf = tls_opzet.tmp / "wissel.conf"
    conf.write_text(wissel)
    server = NatsServer(tls_opzet.tmp / "leaf-wissel", config=conf)
    await server.start()
    try:

        async def verbonden() -> bool:
            for s in tls_opzet.hub:
                if any(
                    ln["name"] == "zvh-leaf-wissel" for ln in (await monitor(s.monitor, "/leafz"))["leafs"]
                ):
                    return True
            return False

        await tot(verbonden, "the leaf with B's certificate connected to the hub", 10)
        node = await nats.connect(
            server.url.replace("nats://", "tls://"),
            user="node",
            password="wissel-node",
            tls=tls_opzet.tls(A),
            connect_timeout=3,
            inbox_prefix=inbox_prefix(B),  # the answers it may receive are B's
        )
        tls_opzet.clients.append(node)
        # What it may send: as B (into B's account's imports), not as A.
        js = node.jetstream(domain=HUB_DOMEIN, timeout=1)
        ack = await opnieuw(partial(js.publish, f"zvh.signaal.{B}", b"als B"), "a signal as B")
        assert ack.stream == "SIGNALEN"
        with pytest.raises((nats.js.errors.NoStreamResponseError, nats.errors.TimeoutError)):
            await js.publish(f"zvh.signaal.{A}", b"als A")
        # What reaches it: requests for B (from A's real node), not those for A (from B's real node).
        voor_b, voor_a = await node.subscribe(f"zvh.vraag.{B}"), await node.subscribe(f"zvh.vraag.{A}")
        await bevestig(node)
        echte_a, echte_b = await tls_opzet.node(A), await tls_opzet.node(B)

        async def vragen() -> None:
            await echte_b.publish(f"zvh.vraag.{A}", b"voor A")
            await echte_a.publish(f"zvh.vraag.{B}", b"voor B")
            await bevestig(echte_a)
            await bevestig(echte_b)

        await tot(_ontvangen(voor_b, vragen), "a request for B at the leaf with B's certificate")
        await vragen()
        await asyncio.sleep(0.5)
        assert await _aantal(voor_b) >= 1 and await _aantal(voor_a) == 0  # for A: not imported
    finally:
        await begrensd("nats-server stop", server.stop())


def _ontvangen(sub: Subscription, publiceer: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[bool]]:
    """A condition for ``tot``: publish, then whether anything arrived on ``sub`` (interest crosses
    the leaf connection asynchronously, so the first publishes may be lost)."""

    async def gezien() -> bool:
        await publiceer()
        return await _aantal(sub) > 0

    return gezien


async def _aantal(sub: Subscription) -> int:
    """How many messages are waiting on ``sub`` (taken off it)."""
    n = 0
    while True:
        try:
            await sub.next_msg(timeout=0.3)
        except nats.errors.TimeoutError:
            return n
        n += 1


@MODULE
async def test_clients_without_the_ca_or_without_a_client_certificate_are_refused(
    tls_opzet: TlsOpzet, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = tls_opzet.leaves[A]
    inlog = {
        "user": tls_opzet.credentials[A]["node_gebruiker"],
        "password": tls_opzet.credentials[A]["node_wachtwoord"],
        "connect_timeout": 2,
        "max_reconnect_attempts": 0,
        "allow_reconnect": False,
    }
    fouten: list[Exception] = []

    async def fout(e: Exception) -> None:
        fouten.append(e)

    # Without the CA: the system's trust store does not know the development CA.
    with pytest.raises((ssl.SSLError, nats.errors.NoServersError, OSError)):
        await nats.connect(leaf.url, error_cb=fout, **inlog)
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in fouten), fouten
    # With the CA but no client certificate: the leaf's client port requires one.
    zonder_cert = nats_tls_context(NatsTlsConfig(tls_opzet.certs / "ca.crt"))
    fouten.clear()

    async def zonder_client_certificaat() -> None:
        nc = await nats.connect(leaf.url, tls=zonder_cert, error_cb=fout, **inlog)
        try:
            await nc.flush(timeout=2)  # TLS 1.3: the server's refusal may only arrive with the first read
        finally:
            await nc.close()

    with pytest.raises((ssl.SSLError, nats.errors.Error, OSError)):
        await zonder_client_certificaat()
    log = tls_opzet.tmp / f"leaf-{A}" / "nats-server.log"

    async def zonder_certificaat() -> bool:
        return "client didn't provide a certificate" in log.read_text()

    await tot(zonder_certificaat, "the leaf refusing a client without a certificate", 5)
    # nats-stromen trusting another CA: one line, naming TLS.
    ander = tls_opzet.tmp / "andere-ca"
    assert certs("--uit", str(ander), "--regio", A, "--hub", "0") == 0
    argv = ["nats-stromen", "--register", str(tls_opzet.reg), "--beheerder", tls_opzet.beheerder]
    argv += ["--uit", str(tls_opzet.uit), "--server", f"nats://127.0.0.1:{tls_opzet.hub[0].client}"]
    capsys.readouterr()
    assert await asyncio.to_thread(natsconfig.main, [*argv, "--ca", str(ander / "ca.crt")]) == 2
    fout_regel = capsys.readouterr().err
    assert fout_regel.count("\n") == 1 and "TLS: the server's certificate does not verify" in fout_regel


@MODULE
async def test_a_leaf_with_a_certificate_of_another_ca_is_refused_by_the_hub(tls_opzet: TlsOpzet) -> None:
    ander = tls_opzet.tmp / "vreemde-ca"
    assert certs("--uit", str(ander), "--regio", A, "--hub", "0") == 0
    echt = (tls_opzet.uit / A / "leaf.conf").read_text()
    # The right CA to trust the hub (and no password: the hub goes by the certificate): only its
    # own certificate is foreign.
    vervalst = (
        echt.replace(str(tls_opzet.certs / A / "leaf.crt"), str(ander / A / "leaf.crt"))
        .replace(str(tls_opzet.certs / A / "leaf.key"), str(ander / A / "leaf.key"))
        .replace(f'"zvh-leaf-{A}"', '"zvh-leaf-vreemd"')
        .replace(str(tls_opzet.tmp / "leafdata" / A), str(tls_opzet.tmp / "leafdata" / "vreemd"))
    )
    assert vervalst.count(str(ander)) == 4  # the client port and the remote
    conf = tls_opzet.tmp / "vreemd.conf"
    conf.write_text(vervalst)
    server = NatsServer(tls_opzet.tmp / "leaf-vreemd", config=conf)
    await server.start()
    try:
        logs = [tls_opzet.tmp / f"hub-{i}" / "nats-server.log" for i in (1, 2, 3)]

        async def geweigerd() -> bool:
            return any("unknown authority" in log.read_text() for log in logs)

        await tot(geweigerd, "a hub server refusing the leaf's foreign certificate", 10)
        namen = {
            ln["name"] for s in tls_opzet.hub for ln in (await monitor(s.monitor, "/leafz")).get("leafs", [])
        }
        assert "zvh-leaf-vreemd" not in namen and f"zvh-leaf-{A}" in namen
    finally:
        await begrensd("nats-server stop", server.stop())


def test_certs_names_each_region_by_its_oin_and_a_rerun_keeps_the_ca(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, beheerder = registry_met_oins(tmp_path)
    uit = tmp_path / "certs"
    assert certs("--uit", str(uit), "--register", str(reg), "--beheerder", beheerder, "--hub", "3") == 0
    bestanden = sorted(p.relative_to(uit).as_posix() for p in uit.rglob("*") if p.is_file())
    assert bestanden == sorted(
        ["ca.crt", "ca.key"]
        + [f"hub/hub-{n}.{e}" for n in (1, 2, 3) for e in ("crt", "key")]
        + [f"{r}/{n}.{e}" for r in (A, B) for n in ("node", "leaf") for e in ("crt", "key")]
    )
    assert all((uit / p).stat().st_mode & 0o777 == 0o600 for p in bestanden if p.endswith(".key"))
    ca = x509.load_pem_x509_certificate((uit / "ca.crt").read_bytes())
    for r in (A, B):
        for naam, cn in (("node", r), ("leaf", f"zvh-leaf-{r}")):
            cert = x509.load_pem_x509_certificate((uit / r / f"{naam}.crt").read_bytes())
            cert.verify_directly_issued_by(ca)
            assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
            assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == OIN[r]
    hub1 = x509.load_pem_x509_certificate((uit / "hub" / "hub-1.crt").read_bytes())
    assert not hub1.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    assert natsconfig.certificaatnamen(uit / "hub" / "hub-1.crt") == ["localhost", "127.0.0.1"]

    # Again, with one more region: the CA and every valid certificate stay; only the new is issued.
    voor = {p: (uit / p).read_bytes() for p in bestanden}
    capsys.readouterr()
    assert certs("--uit", str(uit), "--regio", A, "--regio", "haaglanden", "--hub", "3") == 0
    assert {p: (uit / p).read_bytes() for p in bestanden} == voor
    assert "issued: haaglanden/node, haaglanden/leaf" in capsys.readouterr().out
    # --vernieuw reissues them under the same CA.
    assert certs("--uit", str(uit), "--regio", A, "--hub", "0", "--vernieuw") == 0
    assert (uit / A / "node.crt").read_bytes() != voor[f"{A}/node.crt"]
    assert (uit / "ca.crt").read_bytes() == voor["ca.crt"]
    # A registry signed by another beheerder is refused, nothing written.
    assert certs("--uit", str(tmp_path / "x"), "--register", str(reg), "--beheerder", "00" * 32) == 2
    assert "another beheerder" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_nats_configs_with_tls_need_the_certificates_for_every_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, beheerder = registry_met_oins(tmp_path)
    hub = list(natsconfig.STANDAARD_HUB)
    certdir = tmp_path / "certs"
    assert certs("--uit", str(certdir), "--regio", A, "--hub", "3") == 0  # B's leaf has none
    assert genereer(tmp_path, reg, beheerder, hub, "--tls", str(certdir)) == 2
    fout = capsys.readouterr().err
    assert fout.count("\n") == 1 and f"{B}/leaf.crt is missing" in fout
    assert not (tmp_path / "nats").exists()

    assert certs("--uit", str(certdir), "--regio", B, "--hub", "0") == 0
    anders = [HubServer("hub.example", 4222 + i, 6222 + i, 7422 + i) for i in range(3)]
    assert genereer(tmp_path, reg, beheerder, anders, "--tls", str(certdir)) == 2
    assert "hub/hub-1.crt does not name hub.example" in capsys.readouterr().err

    # The leaf certificates (issued with --regio) carry no OIN; the registry has one per region: a
    # certificate must name its region's organisation, or the hub would map it to that region.
    assert genereer(tmp_path, reg, beheerder, hub, "--tls", str(certdir)) == 2
    assert f"{B}/leaf.crt names OIN none in its subject; the registry has {OIN[B]}" in capsys.readouterr().err
    assert certs("--uit", str(certdir), "--register", str(reg), "--beheerder", beheerder, "--vernieuw") == 0
    # B's leaf certificate installed as A's: refused (A's OIN is not in it).
    (certdir / A / "leaf.crt").write_bytes((certdir / B / "leaf.crt").read_bytes())
    (certdir / A / "leaf.key").write_bytes((certdir / B / "leaf.key").read_bytes())
    assert genereer(tmp_path, reg, beheerder, hub, "--tls", str(certdir)) == 2
    assert (
        f"{A}/leaf.crt names OIN {OIN[B]} in its subject; the registry has {OIN[A]}"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "nats").exists()
    assert certs("--uit", str(certdir), "--register", str(reg), "--beheerder", beheerder, "--vernieuw") == 0

    doel = "/etc/zvh/nats-certs"
    assert genereer(tmp_path, reg, beheerder, hub, "--tls", str(certdir), "--tls-doel", doel) == 0
    hub1 = (tmp_path / "nats" / "hub" / "hub-1.conf").read_text()
    leaf = (tmp_path / "nats" / A / "leaf.conf").read_text()
    assert f'"{doel}/hub/hub-1.crt"' in hub1 and f'"{doel}/ca.crt"' in hub1
    assert f'"{doel}/{A}/leaf.key"' in leaf and "tls://" in leaf and "nats-leaf://" not in leaf
    assert str(certdir) not in hub1 + leaf
    node = (tmp_path / "nats" / A / "credentials.toml").read_text()
    assert f'# cert = "{doel}/{A}/node.crt"' in node and '# url = "tls://' in node
    assert (
        f'hub_certificaat = "SERIALNUMBER={OIN[A]},CN=zvh-leaf-{A}"' in node and "hub_wachtwoord" not in node
    )


def test_certificaat_dn_renders_the_subject_as_nats_server_matches_it() -> None:
    naam = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gemeente X, afdeling Y"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, OIN[A]),
            x509.NameAttribute(NameOID.COMMON_NAME, f"zvh-leaf-{A}"),
        ]
    )
    assert certificaat_dn(naam) == f"CN=zvh-leaf-{A},SERIALNUMBER={OIN[A]},O=Gemeente X\\, afdeling Y,C=NL"
    met_org_id = x509.Name([*naam, x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "NTRNL-1")])
    with pytest.raises(ValueError, match=r"cannot map: 2\.5\.4\.97"):
        certificaat_dn(met_org_id)
