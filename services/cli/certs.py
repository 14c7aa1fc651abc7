"""``zvhctl certs``: a development CA and the certificates of the NATS hub, the leaf nodes and the
nodes. Production takes its certificates from the operator (PKIoverheid); this is for development,
tests and trying out a federation.

zvhctl certs --uit DIR (--register federatie.reg --beheerder HEX | --regio CODE ...)
        [--hub 3] [--host localhost --host 127.0.0.1] [--geldig-dagen 365] [--vernieuw]

Writes (keys 0600, directories 0700)::

    DIR/ca.crt, ca.key                 the CA (kept when present: old certificates stay valid)
    DIR/hub/hub-<n>.crt, .key          hub server n: client, route and leaf node port
    DIR/<regio>/node.crt, .key         the region's node: gRPC server certificate, and its client
                                       certificate towards its leaf node (CN = region code)
    DIR/<regio>/leaf.crt, .key         the region's leaf nats-server: server certificate for its
                                       node, client certificate towards the hub

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

from gedeeld.errors import ConfigError
from gedeeld.pki import Sleutelpaar, lees_sleutelpaar, maak_ca, maak_certificaat
from services.cli.register import lees_register

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
_OIN = re.compile(r"^\d{20}$")
STANDAARD_HOSTS = ("localhost", "127.0.0.1")


def voeg_toe(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``certs`` to zvhctl's commands."""
    c = sub.add_parser("certs", help="a development CA and certificates for the hub, leaf nodes and nodes")
    c.add_argument("--uit", type=Path, required=True, help="the directory for the CA and certificates")
    bron = c.add_mutually_exclusive_group(required=True)
    bron.add_argument("--register", type=Path, help="the signed federatie.reg (regions and their OINs)")
    bron.add_argument(
        "--regio", action="append", metavar="CODE", help="a region code (repeat; without a registry)"
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


def uitvoeren(ns: argparse.Namespace) -> int:
    if ns.register is not None:
        regios = _regios_uit_register(ns.register, ns.beheerder)
    else:
        if ns.beheerder:
            raise ConfigError("--beheerder", "only with --register")
        regios = dict.fromkeys(sorted(set(ns.regio)), "")
    if ns.geldig_dagen < 1:
        raise ConfigError("--geldig-dagen", "must be at least 1")
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
