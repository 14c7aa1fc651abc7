"""``zvhctl federatie nats …``: the federation hub (a nats-server cluster) and one leaf node per
region, generated from the signed registry.

zvhctl federatie nats --register federatie.reg --beheerder HEX --uit DIR
        [--hub HOST:CLIENT:CLUSTER:LEAFNODE[:MONITOR] (three times)] [--hub-luister ADRES]
        [--hub-data DIR] [--leaf-luister ADRES] [--leaf-poort N] [--leaf-monitor N] [--leaf-data DIR]
        [--tls CERTDIR [--tls-doel DIR]]
zvhctl federatie nats-stromen --register federatie.reg --beheerder HEX --uit DIR --server URL
        [--replicas 3] [--max-age-dagen 14] [--tls CERTDIR | --ca CA [--cert CRT --key KEY]]

``nats`` writes (all 0600: they hold passwords)::

    DIR/hub/hub-1.conf … hub-3.conf   one per hub server
    DIR/hub/credentials.toml          the beheer and route passwords
    DIR/<regio>/leaf.conf             the region's leaf node
    DIR/<regio>/credentials.toml      the leaf's password on the hub (not with --tls), the node's
                                      on the leaf

Passwords already in DIR are kept, so running it again after a registry change only adds the
new regions (every hub server then needs the new configs: ``nats-server --signal reload``).
``nats-stromen`` creates or updates, as ``beheer``, the hub's streams for every region in the
registry: SIGNALEN, TREFFER_<R>, OVERLEG_<R>, replicated over the hub servers.

``--tls CERTDIR`` (the layout ``zvhctl certs`` writes: ca.crt, hub/hub-<n>.crt/.key,
<regio>/leaf.crt/.key) turns on TLS in every config: the hub's client port, mutual TLS on its
routes and leaf node port, mutual TLS on each leaf's client port, and ``tls://`` from each leaf to
the hub. The configs name the files under ``--tls-doel`` (where they are on the servers; default:
CERTDIR as an absolute path). With ``--tls`` a leaf node has no password on the hub: the hub maps
its certificate to its region's user (``verify_and_map``), by the subject DN read from
``<regio>/leaf.crt``, whose serialNumber must be the region's OIN in the registry (when it has one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import ssl
import sys
import tomllib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import nats
from cryptography import x509
from cryptography.x509.oid import NameOID
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import APIError

from gedeeld.config import NatsTlsConfig
from gedeeld.federatie import Federatie
from gedeeld.fouten import ConfigError
from gedeeld.nats import onderwerpen
from gedeeld.nats.hubconfig import (
    HUB_DOMEIN,
    NODE_GEBRUIKER,
    HubServer,
    TlsBestanden,
    certificaat_dn,
    cluster_config,
    leaf_config,
)
from gedeeld.nats.jetstream import zorg_voor_stroom
from gedeeld.pki.tls import (
    controleer_ca,
    controleer_certificaat,
    controleer_sleutel,
    controleer_tls,
    nats_tls_context,
)
from services.cli.federatieregister import lees_register

SUBCOMMANDOS = ("nats", "nats-stromen")
STANDAARD_HUB = tuple(HubServer("127.0.0.1", 4222 + i, 6222 + i, 7422 + i, 8222 + i) for i in range(3))


def voeg_toe(fed: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``nats`` and ``nats-stromen`` to ``zvhctl federatie``'s subcommands."""
    n = fed.add_parser("nats", help="write the nats-server configs of the hub cluster and every leaf node")
    _gemeenschappelijk(n)
    n.add_argument(
        "--hub",
        action="append",
        metavar="HOST:CLIENT:CLUSTER:LEAFNODE[:MONITOR]",
        help="one hub server (give it once per server, at least 3, an odd number); "
        "default: three on 127.0.0.1, ports 4222/6222/7422/8222 + 0, 1, 2",
    )
    n.add_argument("--hub-luister", default="0.0.0.0", help="address the hub servers bind to")  # noqa: S104
    n.add_argument(
        "--hub-monitor-luister",
        default="127.0.0.1",
        help="address the hub servers' monitoring endpoints bind to (no authentication of their own: "
        "keep it on loopback, or put an authenticating reverse proxy in front)",
    )
    n.add_argument("--hub-data", default="/var/lib/zvh-hub", help="JetStream data of the hub servers")
    n.add_argument("--leaf-luister", default="127.0.0.1", help="address a leaf node binds to")
    n.add_argument(
        "--leaf-poort",
        action="append",
        metavar="[REGIO=]PORT",
        help="a leaf node's client port (default 4222); REGIO=PORT for one region (repeat), "
        "e.g. when several leaf nodes share a machine",
    )
    n.add_argument("--leaf-monitor", type=int, default=0, help="a leaf node's monitoring port (0: none)")
    n.add_argument("--leaf-data", default="/var/lib/zvh-leaf", help="JetStream data of a leaf node")
    n.add_argument(
        "--tls",
        type=Path,
        metavar="CERTDIR",
        help="TLS everywhere, with the certificates `zvhctl certs` wrote to CERTDIR",
    )
    n.add_argument(
        "--tls-doel",
        metavar="DIR",
        help="where CERTDIR's files are on the servers (written into the configs; default: CERTDIR)",
    )
    s = fed.add_parser("nats-stromen", help="create the hub's streams for every region in the registry")
    _gemeenschappelijk(s)
    s.add_argument("--server", required=True, help="a hub server's client URL (nats://host:4222)")
    s.add_argument("--replicas", type=int, default=3)
    s.add_argument("--max-age-dagen", type=float, default=14.0)
    s.add_argument("--tls", type=Path, metavar="CERTDIR", help="connect over TLS, trusting CERTDIR/ca.crt")
    s.add_argument("--ca", type=Path, help="connect over TLS, trusting this CA")
    s.add_argument("--cert", type=Path, help="a client certificate (with --ca and --key)")
    s.add_argument("--key", type=Path, help="its key")


def leaf_poort(specs: Sequence[str] | None, regio: str) -> int:
    """The client port of ``regio``'s leaf node from ``--leaf-poort`` values (PORT or REGIO=PORT)."""
    poort = 4222
    for spec in specs or ():
        wie, _, waarde = spec.rpartition("=")
        if wie and wie != regio:
            continue
        if not waarde.isdigit() or not 0 < int(waarde) < 65536:
            raise ConfigError("--leaf-poort", f"{spec!r} is not PORT or REGIO=PORT")
        poort = int(waarde)
        if wie:  # a region's own port wins over a general one, in any order
            break
    return poort


def _gemeenschappelijk(p: argparse.ArgumentParser) -> None:
    p.add_argument("--register", type=Path, required=True, help="the signed federatie.reg")
    p.add_argument("--beheerder", required=True, help="the trusted beheerder public key (hex)")
    p.add_argument("--uit", type=Path, required=True, help="the directory with the generated files")


def uitvoeren(ns: argparse.Namespace) -> int:
    fed, oins = _register(ns.register, ns.beheerder)
    if ns.sub == "nats-stromen":
        return asyncio.run(_stromen(fed, ns))
    return _schrijf_alles(fed, oins, ns)


def _register(pad: Path, beheerder: str) -> tuple[Federatie, dict[str, str]]:
    """The verified registry, and each region's OIN ("" when the registry has none)."""
    fed = lees_register(pad, beheerder)
    return fed, {r: fed.regios[r].oin for r in sorted(fed.regios)}


def hub_servers(specs: Sequence[str] | None) -> list[HubServer]:
    if not specs:
        return list(STANDAARD_HUB)
    servers = []
    for spec in specs:
        host, *poorten = spec.split(":")
        try:
            getallen = [int(p) for p in poorten]
            if len(getallen) not in (3, 4) or not host or not all(0 < p < 65536 for p in getallen):
                raise ValueError
        except ValueError:
            raise ConfigError("--hub", f"{spec!r} is not HOST:CLIENT:CLUSTER:LEAFNODE[:MONITOR]") from None
        monitor = getallen[3] if len(getallen) == 4 else 0  # without MONITOR: no monitoring endpoint
        servers.append(HubServer(host, getallen[0], getallen[1], getallen[2], monitor))
    return servers


def _schrijf(pad: Path, tekst: str) -> None:
    """Write a file only its owner can read, replacing any old one in one step."""
    pad.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tijdelijk = pad.with_name(pad.name + ".nieuw")
    fd = os.open(tijdelijk, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(tekst)
    os.replace(tijdelijk, pad)


def _lees_credentials(pad: Path) -> dict[str, str]:
    if not pad.exists():
        return {}
    try:
        return {k: v for k, v in tomllib.loads(pad.read_text()).items() if isinstance(v, str)}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("--uit", f"{pad}: {type(exc).__name__}") from None


def _wachtwoord(oud: dict[str, str], sleutel: str) -> str:
    return oud.get(sleutel) or secrets.token_urlsafe(32)


def _commentaar(tekst: str) -> str:
    return "".join(f"# {regel}\n" for regel in tekst.splitlines())


def _toml(kop: str, waarden: dict[str, str], staart: str = "") -> str:
    return _commentaar(kop) + "".join(f"{k} = {json.dumps(v)}\n" for k, v in waarden.items()) + staart


def _schrijf_alles(fed: Federatie, oins: Mapping[str, str], ns: argparse.Namespace) -> int:
    hub = hub_servers(ns.hub)
    regios = sorted(fed.regios)
    for spec in ns.leaf_poort or ():
        wie = spec.rpartition("=")[0]
        if wie and wie not in fed.regios:
            raise ConfigError("--leaf-poort", f"region {wie!r} is not in the registry")
    uit: Path = ns.uit
    hubdir = uit / "hub"
    beheer = _lees_credentials(hubdir / "credentials.toml")
    hub_geheim = {
        "beheer_wachtwoord": _wachtwoord(beheer, "beheer_wachtwoord"),
        "route_wachtwoord": _wachtwoord(beheer, "route_wachtwoord"),
    }
    hub_tls, leaf_tls = _tls_bestanden(ns.tls, ns.tls_doel, hub, regios)
    # With TLS the hub maps each leaf's certificate to its region's user: no hub passwords.
    leaf_dns = leaf_certificaten(ns.tls, oins) if ns.tls is not None else None
    per_regio: dict[str, dict[str, str]] = {}
    for r in regios:
        oud = _lees_credentials(uit / r / "credentials.toml")
        per_regio[r] = {"regio": r}
        if leaf_dns is None:
            per_regio[r] |= {"hub_gebruiker": r, "hub_wachtwoord": _wachtwoord(oud, "hub_wachtwoord")}
        else:
            per_regio[r] |= {"hub_certificaat": leaf_dns[r]}
        per_regio[r] |= {
            "node_gebruiker": NODE_GEBRUIKER,
            "node_wachtwoord": _wachtwoord(oud, "node_wachtwoord"),
        }
    try:
        hub_configs = [
            cluster_config(
                i,
                hub,
                regios,
                {r: per_regio[r]["hub_wachtwoord"] for r in regios if leaf_dns is None},
                store_dir=f"{ns.hub_data}/hub-{i + 1}",
                beheer_wachtwoord=hub_geheim["beheer_wachtwoord"],
                route_wachtwoord=hub_geheim["route_wachtwoord"],
                luister=ns.hub_luister,
                monitor_luister=ns.hub_monitor_luister,
                tls=hub_tls[i] if hub_tls else None,
                leaf_certificaten=leaf_dns,
            )
            for i in range(len(hub))
        ]
        leaf_configs = {
            r: leaf_config(
                r,
                hub,
                hub_wachtwoord=per_regio[r].get("hub_wachtwoord"),
                node_wachtwoord=per_regio[r]["node_wachtwoord"],
                store_dir=f"{ns.leaf_data}/{r}",
                luister=ns.leaf_luister,
                poort=leaf_poort(ns.leaf_poort, r),
                monitor=ns.leaf_monitor,
                tls=leaf_tls.get(r),
            )
            for r in regios
        }
    except ValueError as exc:  # an even or too small cluster, clashing ports, region code "hub"
        raise ConfigError("federatie nats", str(exc)) from None
    kop = (
        f"Generated by `zvhctl federatie nats` from the registry of epoch {fed.epoch} "
        f"(beheerder {fed.beheerder_sleutel.hex()[:16]}…).\nDo not edit: run it again.\n"
    )
    for i, tekst in enumerate(hub_configs):
        _schrijf(hubdir / f"hub-{i + 1}.conf", _commentaar(kop) + tekst)
    _schrijf(
        hubdir / "credentials.toml",
        _toml(kop + "The hub's own passwords: user beheer (all rights), and the routes.", hub_geheim),
    )
    for r in regios:
        _schrijf(uit / r / "leaf.conf", _commentaar(kop) + leaf_configs[r])
        schema = "tls" if r in leaf_tls else "nats"
        node_toml = (
            "\n# For the node's configuration (the node logs in on its leaf node):\n"
            f'# [nats]\n# url = "{schema}://{ns.leaf_luister}:{leaf_poort(ns.leaf_poort, r)}"\n'
            f'# gebruiker = "{NODE_GEBRUIKER}"\n# wachtwoord = "{per_regio[r]["node_wachtwoord"]}"\n'
            f'# hub_domein = "{HUB_DOMEIN}"\n'
        )
        if r in leaf_tls:
            doel = Path(leaf_tls[r].ca).parent
            node_toml += (
                f'# ca = "{doel / "ca.crt"}"\n# cert = "{doel / r / "node.crt"}"\n'
                f'# key = "{doel / r / "node.key"}"\n'
            )
        _schrijf(
            uit / r / "credentials.toml",
            _toml(kop + f"NATS credentials of region {r}: keep secret.", per_regio[r], node_toml),
        )
    print(f"wrote {len(hub)} hub server configs to {hubdir} and leaf configs for {', '.join(regios)}")
    weg = sorted(
        p.name
        for p in uit.iterdir()
        if p.is_dir() and p.name != "hub" and (p / "leaf.conf").exists() and p.name not in fed.regios
    )
    if weg:
        print(f"no longer in the registry (no hub user any more; remove their directories): {', '.join(weg)}")
    return 0


def _tls_bestanden(
    certdir: Path | None, doel: str | None, hub: Sequence[HubServer], regios: Sequence[str]
) -> tuple[list[TlsBestanden], dict[str, TlsBestanden]]:
    """The TLS files of each hub server and each region's leaf node, as paths under ``doel``,
    after checking that ``zvhctl certs`` wrote them to ``certdir``, that they are valid and that
    each hub server's certificate names the host it is reached at (the leaves and the other hub
    servers check that)."""
    if certdir is None:
        if doel is not None:
            raise ConfigError("--tls-doel", "only with --tls")
        return [], {}
    basis = Path(doel) if doel else certdir.resolve()
    if not basis.is_absolute():
        raise ConfigError(
            "--tls-doel", "must be an absolute path (nats-server reads relative paths from its cwd)"
        )

    def paar(rel: str) -> tuple[str, str]:
        cert, key = certdir / f"{rel}.crt", certdir / f"{rel}.key"
        for p in (cert, key):
            if not p.exists():
                raise ConfigError("--tls", f"{p} is missing; create it with `zvhctl certs --uit {certdir} …`")
        controleer_certificaat(cert, "--tls")
        controleer_sleutel(cert, key, "--tls")
        return str(basis / f"{rel}.crt"), str(basis / f"{rel}.key")

    if not (certdir / "ca.crt").exists():
        raise ConfigError(
            "--tls", f"{certdir / 'ca.crt'} is missing; create it with `zvhctl certs --uit {certdir} …`"
        )
    controleer_ca(certdir / "ca.crt", "--tls")
    ca = str(basis / "ca.crt")
    hub_tls = []
    for n, server in enumerate(hub, start=1):
        hub_tls.append(TlsBestanden(ca, *paar(f"hub/hub-{n}")))
        namen = certificaatnamen(certdir / "hub" / f"hub-{n}.crt")
        if server.host not in namen:
            raise ConfigError(
                "--tls",
                f"hub/hub-{n}.crt does not name {server.host} (it names {', '.join(namen) or 'nothing'}); "
                f"reissue with `zvhctl certs --uit {certdir} --host {server.host} … --vernieuw`",
            )
    return hub_tls, {r: TlsBestanden(ca, *paar(f"{r}/leaf")) for r in regios}


def leaf_certificaten(certdir: Path, oins: Mapping[str, str]) -> dict[str, str]:
    """Region -> the subject DN of ``certdir/<regio>/leaf.crt``, as the hub's ``verify_and_map``
    matches it. A certificate names its organisation by OIN in the subject serialNumber: when the
    registry has an OIN for the region, the certificate must carry exactly that one (so a region's
    certificate cannot be installed for another), and no two regions may share a subject."""
    dns: dict[str, str] = {}
    for r, oin in oins.items():
        pad = certdir / r / "leaf.crt"
        subject = x509.load_pem_x509_certificate(pad.read_bytes()).subject
        try:
            dn = certificaat_dn(subject)
        except ValueError as exc:
            raise ConfigError("--tls", f"{r}/leaf.crt: {exc}") from None
        serienummers = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]
        if oin and serienummers != [oin]:
            raise ConfigError(
                "--tls",
                f"{r}/leaf.crt names OIN {', '.join(serienummers) or 'none'} in its subject; "
                f"the registry has {oin} for {r}",
            )
        dubbel = [q for q, d in dns.items() if d == dn]
        if dubbel:
            raise ConfigError("--tls", f"{r}/leaf.crt and {dubbel[0]}/leaf.crt have the same subject {dn}")
        dns[r] = dn
    return dns


def certificaatnamen(pad: Path) -> list[str]:
    """The DNS names and IP addresses in a certificate's subjectAltName."""
    cert = x509.load_pem_x509_certificate(pad.read_bytes())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
    ]


def hub_stromen(regios: Sequence[str], *, replicas: int, max_age: timedelta) -> list[StreamConfig]:
    """The hub's streams (``gedeeld.nats.onderwerpen``): SIGNALEN, per region TREFFER_ and OVERLEG_,
    with per-sender bounds, and DOOD, which keeps the hub's advisories of messages a region's
    consumer gave up on."""
    stromen = [
        spec.config(max_age=max_age, replicas=replicas, afzenders=len(regios))
        for spec in onderwerpen.stromen(regios)
    ]
    return [*stromen, onderwerpen.dood(regios, max_age=max_age, replicas=replicas)]


def hub_consumenten(regios: Sequence[str]) -> list[tuple[str, ConsumerConfig]]:
    """Every region's durable consumers on the hub: only the hub's operators create them, so a
    region cannot create one that delivers into another's API subjects (or anywhere else)."""
    return [(c.stroom, c.config()) for r in regios for c in onderwerpen.consumenten(r)]


async def _met_herhaling(
    js: JetStreamContext,
    config: StreamConfig,
    consument: ConsumerConfig | None = None,
    pogingen: int = 10,
) -> None:
    """Create or update one stream (or, with ``consument``, one durable consumer on it); creating
    the same again is harmless, so a request whose answer got lost (a cluster still settling, a
    leader election) is simply repeated."""
    for poging in range(1, pogingen + 1):
        try:
            if consument is None:
                await zorg_voor_stroom(js, config)
            else:
                await js.add_consumer(str(config.name), consument)
            return
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, APIError) as exc:
            # APIError includes "no suitable peers for placement" while a server is (re)joining.
            if poging == pogingen:
                fout = exc.description if isinstance(exc, APIError) else type(exc).__name__
                wat = f"{config.name}/{consument.durable_name}" if consument else config.name
                raise ConfigError("--server", f"the hub did not create {wat}: {fout}") from None
            await asyncio.sleep(0.5)


async def _stromen(fed: Federatie, ns: argparse.Namespace) -> int:
    if ns.replicas < 1 or ns.max_age_dagen <= 0:
        raise ConfigError("--replicas/--max-age-dagen", "must be positive")
    wachtwoord = _lees_credentials(ns.uit / "hub" / "credentials.toml").get("beheer_wachtwoord")
    if not wachtwoord:
        raise ConfigError("--uit", "no hub/credentials.toml with the beheer password; run `nats` first")
    nc = await _verbind_als_beheer(ns, wachtwoord)
    try:
        js = nc.jetstream(timeout=2)
        stromen = hub_stromen(
            sorted(fed.regios), replicas=ns.replicas, max_age=timedelta(days=ns.max_age_dagen)
        )
        for s in stromen:
            await _met_herhaling(js, s)
        consumenten = hub_consumenten(sorted(fed.regios))
        for naam, c in consumenten:
            await _met_herhaling(js, StreamConfig(name=naam), c)
    finally:
        await nc.close()
    print(f"{len(stromen)} streams on the hub: {', '.join(str(s.name) for s in stromen)}")
    print(f"{len(consumenten)} durable consumers (one per region on each stream it reads)")
    return 0


def client_tls(ns: argparse.Namespace) -> NatsTlsConfig | None:
    """``--tls CERTDIR`` (its ca.crt) or ``--ca`` [``--cert`` ``--key``]; None: no TLS."""
    if ns.tls is not None:
        if ns.ca is not None or ns.cert is not None or ns.key is not None:
            raise ConfigError("--tls", "either --tls or --ca/--cert/--key")
        ca = ns.tls / "ca.crt"
        if not ca.exists():
            raise ConfigError("--tls", f"{ca} does not exist")
        controleer_ca(ca, "--tls")
        return NatsTlsConfig(ca=ca)
    if (ns.cert is not None or ns.key is not None) and (ns.ca is None or ns.cert is None or ns.key is None):
        raise ConfigError("--cert", "--cert and --key go together, with --ca")
    if ns.ca is None:
        return None
    tls = NatsTlsConfig(ca=ns.ca, cert=ns.cert, key=ns.key)
    controleer_tls(tls, "--ca", "--cert", "--key")
    return tls


async def _verbind_als_beheer(ns: argparse.Namespace, wachtwoord: str) -> Client:
    tls = client_tls(ns)
    opties: dict[str, object] = {} if tls is None else {"tls": nats_tls_context(tls)}
    verbonden = False

    async def fout(e: Exception) -> None:
        # nats-py retries a failed TLS handshake without end; a certificate that does not verify
        # will not verify on the next try, so it ends the connect (raised from this callback).
        if not verbonden and isinstance(e, ssl.SSLError):
            raise e

    try:
        nc = await asyncio.wait_for(
            nats.connect(
                ns.server,
                user="beheer",
                password=wachtwoord,
                connect_timeout=5,
                max_reconnect_attempts=3,
                error_cb=fout,
                **opties,
            ),
            30,
        )
    except Exception as exc:
        raise ConfigError("--server", f"cannot connect as beheer: {_verbindingsfout(exc)}") from None
    verbonden = True
    return nc


def _verbindingsfout(exc: BaseException) -> str:
    """One line for a failed connection; TLS failures say why (nats-py wraps them)."""
    gezien: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in gezien:
        gezien.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"TLS: the server's certificate does not verify ({e.verify_message})"
        if isinstance(e, ssl.SSLError):
            return f"TLS: {e.reason or e}"
        e = e.__cause__ or e.__context__
    return type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Standalone, the same as ``zvhctl federatie nats…``: ``python -m services.cli.natsconfig``."""
    parser = argparse.ArgumentParser(prog="zvhctl federatie", description=__doc__.splitlines()[0])
    voeg_toe(parser.add_subparsers(dest="sub", required=True))
    ns = parser.parse_args(argv)
    try:
        return uitvoeren(ns)
    except ConfigError as exc:
        print(f"zvhctl: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
