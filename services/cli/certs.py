"""``zvhctl certs``: a development CA and the certificates of the NATS hub, the leaf nodes and the
nodes. Production takes its certificates from the operator (PKIoverheid); this is for development,
tests and trying out a federation.

zvhctl certs --uit DIR (--register federatie.reg --beheerder HEX | --regio CODE ...)
        [--hub 3] [--host localhost --host 127.0.0.1] [--geldig-dagen 365] [--vernieuw]
zvhctl certs --uit DIR [--register federatie.reg --beheerder HEX] --regio CODE
        (--toepassing NAAM | --gebruiker NAAM) ...  [--geldig-dagen 365] [--vernieuw]

Writes (keys 0600, directories 0700)::

    DIR/ca.crt, ca.key                 the CA (kept when present: old certificates stay valid)
    DIR/hub/hub-<n>.crt, .key          hub server n: client, route and leaf node port
    DIR/<regio>/node.crt, .key         the region's node: gRPC server certificate, and its client
                                       certificate towards its leaf node (CN = region code)
    DIR/<regio>/leaf.crt, .key         the region's leaf nats-server: server certificate for its
                                       node, client certificate towards the hub

With ``--toepassing NAAM`` or ``--gebruiker NAAM`` (repeatable) it writes only client certificates
for the region(s) named with ``--regio``, the only certificates the region's gRPC API accepts
from its callers (gedeeld/grpc/clientcertificaat.py)::

    DIR/<regio>/toepassing-<naam>.crt, .key   an application (CN <naam>.<regio>, OU "ZVH
                                              toepassing"): a [[dienst]] in the token file, or the
                                              TLS identity of a client that sends user tokens
    DIR/<regio>/gebruiker-<naam>.crt, .key    a person's client (CN <naam>.<regio>, OU "ZVH
                                              gebruiker"): opens the connection; the person is
                                              named by their bearer token

Client certificates have extendedKeyUsage clientAuth only, so they cannot serve as a server, and
node and leaf certificates (serverAuth) are never accepted as callers.

As in Dutch government PKI (PKIoverheid, FSC), a region's certificates name its organisation by
OIN in the subject serialNumber (taken from the registry). A certificate already in DIR, signed by
the CA and still valid, is kept unless ``--vernieuw`` is given.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from gedeeld.fouten import ConfigError
from gedeeld.grpc.clientcertificaat import Soort
from gedeeld.pki.ca import Sleutelpaar, lees_sleutelpaar, maak_ca, maak_certificaat, maak_clientcertificaat
from services.cli.federatieregister import lees_register

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
_OIN = re.compile(r"^\d{20}$")
_CLIENT = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_BESTAND = {Soort.TOEPASSING: "toepassing", Soort.GEBRUIKER: "gebruiker"}
STANDAARD_HOSTS = ("localhost", "127.0.0.1")


def voeg_toe(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``certs`` to zvhctl's commands."""
    c = sub.add_parser("certs", help="a development CA and certificates for the hub, leaf nodes and nodes")
    c.add_argument("--uit", type=Path, required=True, help="the directory for the CA and certificates")
    c.add_argument("--register", type=Path, help="the signed federatie.reg (regions and their OINs)")
    c.add_argument(
        "--regio",
        action="append",
        metavar="CODE",
        help="a region code (repeat); with --register: only these regions of the registry",
    )
    c.add_argument(
        "--toepassing",
        action="append",
        metavar="NAAM",
        help="an application (client) certificate for each --regio (repeat); only client certificates",
    )
    c.add_argument(
        "--gebruiker",
        action="append",
        metavar="NAAM",
        help="a user's (client) certificate for each --regio (repeat); only client certificates",
    )
    c.add_argument("--beheerder", help="the trusted beheerder public key (hex); with --register")
    c.add_argument("--hub", type=int, default=3, help="number of hub servers (default 3)")
    c.add_argument(
        "--host",
        action="append",
        metavar="NAME",
        help="a DNS name or IP address in every certificate (repeat; default localhost, 127.0.0.1)",
    )
    c.add_argument("--geldig-dagen", type=int, default=365, help="validity of the new certificates")
    c.add_argument("--vernieuw", action="store_true", help="reissue certificates that are still valid")


@dataclass(frozen=True)
class Uitgifte:
    """What ``certs`` did: certificate paths (relative to DIR) issued and kept."""

    ca_nieuw: bool
    uitgegeven: list[str]
    behouden: list[str]


def _regios_uit_register(pad: Path, beheerder: str | None) -> dict[str, str]:
    """Region code -> OIN ("" when the registry has none), from a verified registry."""
    if not beheerder:
        raise ConfigError("--beheerder", "is required with --register (the registry is verified first)")
    fed = lees_register(pad, beheerder)
    oins = {code: r.oin for code, r in fed.regios.items()}
    uit = {}
    for code in sorted(fed.regios):
        oin = oins.get(code, "")
        if oin and not _OIN.match(oin):
            raise ConfigError("--register", f"region {code}: OIN {oin!r} is not 20 digits")
        uit[code] = oin
    return uit


def _ca(uit: Path, geldig: timedelta) -> tuple[Sleutelpaar, bool]:
    cert, key = uit / "ca.crt", uit / "ca.key"
    if cert.exists() or key.exists():
        try:
            ca = lees_sleutelpaar(cert, key)
        except (OSError, ValueError) as exc:
            raise ConfigError("--uit", f"cannot reuse the CA in {uit}: {exc}") from None
        if ca.certificaat.not_valid_after_utc < datetime.now(UTC):
            raise ConfigError("--uit", f"the CA {cert} has expired; move {uit} aside and start anew")
        return ca, False
    ca = maak_ca(geldig=geldig)
    ca.schrijf(uit, "ca")
    return ca, True


def _bruikbaar(map_: Path, naam: str, ca: Sleutelpaar) -> bool:
    """A certificate in ``map_`` that this CA signed, with its key, valid for at least a day."""
    try:
        paar = lees_sleutelpaar(map_ / f"{naam}.crt", map_ / f"{naam}.key")
    except (OSError, ValueError):
        return False
    cert = paar.certificaat
    try:
        cert.verify_directly_issued_by(ca.certificaat)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=1)


def maak_certs(
    uit: Path,
    regios: dict[str, str],
    *,
    hubs: int = 3,
    hosts: tuple[str, ...] = STANDAARD_HOSTS,
    geldig: timedelta = timedelta(days=365),
    vernieuw: bool = False,
) -> Uitgifte:
    """The CA (reused when present) and the certificates of ``hubs`` hub servers and of every
    region in ``regios`` (code -> OIN or "")."""
    for code in regios:
        if not _CODE.match(code):
            raise ConfigError("--regio", f"invalid region code {code!r}")
    if hubs < 0:
        raise ConfigError("--hub", "must be 0 or more")
    if geldig <= timedelta(0):
        raise ConfigError("--geldig-dagen", "must be at least 1")
    uit.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca, ca_nieuw = _ca(uit, max(geldig, timedelta(days=3650)))
    # A certificate does not outlive its CA.
    einde = ca.certificaat.not_valid_after_utc
    geldig = min(geldig, einde - datetime.now(UTC))
    te_maken: list[tuple[Path, str, str, str | None]] = [
        (uit / "hub", f"hub-{n}", f"zvh-hub-{n}", None) for n in range(1, hubs + 1)
    ]
    for code, oin in regios.items():
        te_maken.append((uit / code, "node", code, oin or None))
        te_maken.append((uit / code, "leaf", f"zvh-leaf-{code}", oin or None))
    uitgegeven: list[str] = []
    behouden: list[str] = []
    for map_, naam, cn, serienummer in te_maken:
        rel = f"{map_.relative_to(uit).as_posix()}/{naam}"
        if not vernieuw and not ca_nieuw and _bruikbaar(map_, naam, ca):
            behouden.append(rel)
            continue
        maak_certificaat(ca, cn, oin=serienummer, hosts=hosts, geldig=geldig).schrijf(map_, naam)
        uitgegeven.append(rel)
    return Uitgifte(ca_nieuw, uitgegeven, behouden)


def maak_clientcerts(
    uit: Path,
    regios: dict[str, str],
    clienten: list[tuple[Soort, str]],
    *,
    geldig: timedelta = timedelta(days=365),
    vernieuw: bool = False,
) -> Uitgifte:
    """For every region in ``regios`` (code -> OIN or ""), a client certificate per (kind, name):
    ``<regio>/<toepassing|gebruiker>-<naam>``, CN ``<naam>.<regio>``, signed by the CA in ``uit``
    (created when absent)."""
    for code in regios:
        if not _CODE.match(code):
            raise ConfigError("--regio", f"invalid region code {code!r}")
    for soort, naam in clienten:
        if not _CLIENT.match(naam):
            raise ConfigError(
                f"--{_BESTAND[soort]}", f"invalid name {naam!r}: 1-63 of a-z 0-9 _ -, starting with a letter"
            )
    if geldig <= timedelta(0):
        raise ConfigError("--geldig-dagen", "must be at least 1")
    uit.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca, ca_nieuw = _ca(uit, max(geldig, timedelta(days=3650)))
    geldig = min(geldig, ca.certificaat.not_valid_after_utc - datetime.now(UTC))
    uitgegeven: list[str] = []
    behouden: list[str] = []
    for code, oin in regios.items():
        for soort, naam in clienten:
            bestand = f"{_BESTAND[soort]}-{naam}"
            rel = f"{code}/{bestand}"
            if not vernieuw and not ca_nieuw and _bruikbaar(uit / code, bestand, ca):
                behouden.append(rel)
                continue
            paar = maak_clientcertificaat(ca, f"{naam}.{code}", soort, oin=oin or None, geldig=geldig)
            paar.schrijf(uit / code, bestand)
            uitgegeven.append(rel)
    return Uitgifte(ca_nieuw, uitgegeven, behouden)


def uitvoeren(ns: argparse.Namespace) -> int:
    clienten = [(Soort.TOEPASSING, n) for n in ns.toepassing or []] + [
        (Soort.GEBRUIKER, n) for n in ns.gebruiker or []
    ]
    if ns.register is not None:
        regios = _regios_uit_register(ns.register, ns.beheerder)
        if ns.regio:
            onbekend = sorted(set(ns.regio) - set(regios))
            if onbekend:
                raise ConfigError("--regio", f"not in the registry: {', '.join(onbekend)}")
            regios = {code: oin for code, oin in regios.items() if code in ns.regio}
    elif ns.regio:
        if ns.beheerder:
            raise ConfigError("--beheerder", "only with --register")
        regios = dict.fromkeys(sorted(set(ns.regio)), "")
    else:
        raise ConfigError("--register", "give --register (with --beheerder) or --regio")
    if clienten and not ns.regio:
        raise ConfigError("--regio", "name the region(s) of the --toepassing/--gebruiker certificates")
    if ns.geldig_dagen < 1:
        raise ConfigError("--geldig-dagen", "must be at least 1")
    if clienten:
        r = maak_clientcerts(
            ns.uit, regios, clienten, geldig=timedelta(days=ns.geldig_dagen), vernieuw=ns.vernieuw
        )
    else:
        r = maak_certs(
            ns.uit,
            regios,
            hubs=ns.hub,
            hosts=tuple(ns.host) if ns.host else STANDAARD_HOSTS,
            geldig=timedelta(days=ns.geldig_dagen),
            vernieuw=ns.vernieuw,
        )
    print(f"CA {ns.uit / 'ca.crt'}: {'created' if r.ca_nieuw else 'kept'}")
    if r.uitgegeven:
        print(f"issued: {', '.join(r.uitgegeven)}")
    if r.behouden:
        print(f"kept (still valid; --vernieuw reissues): {', '.join(r.behouden)}")
    return 0
