"""Prepares $FEDERATIE_MAP for deploy/compose.yaml: certificates, nats-server configs, password files.

Runs, after the key ceremony has written ``federatie.reg`` and ``sleutels/<regio>/`` there, the
commands an operator would type (each is printed first; docs/deploy.md lists them too):

1. ``zvhctl certs``: a development CA and the certificates of the three hub servers and of each
   region's leaf node and node (``certs/``), naming the compose service hosts.
2. ``zvhctl federatie nats --tls``: ``nats/hub/hub-<n>.conf`` for the hub cluster (services
   ``nats-hub-1..3``), ``nats/<regio>/leaf.conf`` for each region's leaf node (service
   ``leaf-<regio>``), with the certificate paths as the containers see them (``/etc/nats/certs``).
3. ``nats/<regio>/node-wachtwoord``: the node's password on its leaf, taken from
   ``nats/<regio>/credentials.toml``, as a file of its own for ``nats.wachtwoord_bestand``.

Every file that holds a key or password is written with mode 0600. Running it again keeps the CA,
the valid certificates and every password. Nothing is committed: the configs hold passwords.

    .venv/bin/python deploy/genereer.py --map "$FEDERATIE_MAP" --beheerder "$BEHEERDER_SLEUTEL"
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

REGIOS = ("wvv", "arnhem", "haaglanden")  # the regions of deploy/compose.yaml
HUB_SERVERS = 3
CLIENT_POORT, CLUSTER_POORT, LEAFNODE_POORT, MONITOR_POORT = 4222, 6222, 7422, 8222
LEAF_POORT = 4222  # a leaf node's client port, where its region's node connects
JETSTREAM = "/data/jetstream"  # a named volume in every nats-server container
CERTS_DOEL = "/etc/nats/certs"  # where compose mounts the certificates in the nats-server containers
WACHTWOORD_BESTAND = "node-wachtwoord"


def hub_host(n: int) -> str:
    """The compose service (and host name) of hub server n (1-based)."""
    return f"nats-hub-{n}"


def leaf_host(regio: str) -> str:
    return f"leaf-{regio}"


def hosts(regios: Sequence[str] = REGIOS) -> list[str]:
    """The names every development certificate carries: the hub servers, the leaf nodes, and
    loopback for the published gRPC ports."""
    return [
        *(hub_host(n) for n in range(1, HUB_SERVERS + 1)),
        *map(leaf_host, regios),
        "localhost",
        "127.0.0.1",
    ]


def opdrachten(map_: Path, beheerder: str, regios: Sequence[str] = REGIOS) -> list[list[str]]:
    """The zvhctl commands (without the program name) that fill ``map_``."""
    register = ["--register", str(map_ / "federatie.reg"), "--beheerder", beheerder]
    certs = ["certs", "--uit", str(map_ / "certs"), *register, "--hub", str(HUB_SERVERS)]
    certs += [a for h in hosts(regios) for a in ("--host", h)]
    hub = [
        a
        for n in range(1, HUB_SERVERS + 1)
        for a in (
            "--hub",
            f"{hub_host(n)}:{CLIENT_POORT}:{CLUSTER_POORT}:{LEAFNODE_POORT}:{MONITOR_POORT}",
        )
    ]
    nats = [
        "federatie", "nats", *register, "--uit", str(map_ / "nats"), *hub,
        "--hub-data", JETSTREAM, "--leaf-luister", "0.0.0.0",  # noqa: S104 - the compose network "--leaf-poort", str(LEAF_POORT),
        "--leaf-monitor", str(MONITOR_POORT), "--leaf-data", JETSTREAM,
        "--tls", str(map_ / "certs"), "--tls-doel", CERTS_DOEL,
    ]  # fmt: skip
    return [certs, nats]


def schrijf_wachtwoorden(natsmap: Path) -> list[Path]:
    """``<regio>/node-wachtwoord`` (0600) from each ``<regio>/credentials.toml`` in ``natsmap``."""
    geschreven = []
    for cred in sorted(natsmap.glob("*/credentials.toml")):
        waarden = tomllib.loads(cred.read_text())
        if "node_wachtwoord" not in waarden:
            continue  # hub/credentials.toml
        doel = cred.parent / WACHTWOORD_BESTAND
        fd = os.open(doel, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(waarden["node_wachtwoord"] + "\n")
        geschreven.append(doel)
    return geschreven


def _zvhctl(args: list[str]) -> None:
    from services.cli import zvhctl

    print("$ " + shlex.join(["zvhctl", *args]), flush=True)
    fouten = io.StringIO()
    with contextlib.redirect_stderr(fouten):
        rc = zvhctl.main(args)
    if rc != 0:
        raise SystemExit(f"genereer: zvhctl {args[0]} failed ({rc}): {fouten.getvalue().strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--map",
        type=Path,
        default=os.environ.get("FEDERATIE_MAP"),
        help="the ceremony's output directory (default: $FEDERATIE_MAP)",
    )
    parser.add_argument(
        "--beheerder",
        default=os.environ.get("BEHEERDER_SLEUTEL"),
        help="the beheerder's public key, hex (default: $BEHEERDER_SLEUTEL)",
    )
    ns = parser.parse_args(argv)
    if ns.map is None or not ns.beheerder:
        parser.error("--map and --beheerder are required (or FEDERATIE_MAP and BEHEERDER_SLEUTEL)")
    map_: Path = ns.map.resolve()
    if not (map_ / "federatie.reg").is_file():
        parser.error(f"{map_ / 'federatie.reg'} does not exist: run the key ceremony first")
    for args in opdrachten(map_, ns.beheerder):
        _zvhctl(args)
    for pad in schrijf_wachtwoorden(map_ / "nats"):
        print(f"wrote {pad}", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
