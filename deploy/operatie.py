"""A federation of three regions with TLS on loopback, set up and run the way operators do it.

    python deploy/operatie.py opzetten --map DIR [--regio wvv --regio arnhem --regio haaglanden]
    python deploy/operatie.py start --map DIR [NAME ...]   (hub-1..3, leaf-<regio>, node-<regio>)
    python deploy/operatie.py stop --map DIR [NAME ...]
    python deploy/operatie.py status --map DIR             (zvhctl status of every region)

``opzetten`` runs the real commands one by one and prints each (zvhctl federatie beheerder /
sleutels / init, zvhctl certs, zvhctl federatie nats, zvhctl db upgrade, zvhctl token nieuw) and
writes each region's node configuration; ``start`` starts the three hub servers, creates the hub's
streams (zvhctl federatie nats-stromen), then each region's leaf node and node, each in the
background with its log in DIR/logs/ and its pid in DIR/run/, and waits until each is ready.
Everything listens on 127.0.0.1 with ports chosen by ``opzetten`` (DIR/opzet.json). See
README.md ("Operating a federation") and docs/deploy.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
REGIOS = ("wvv", "arnhem", "haaglanden")
HUB_SERVERS = 3
# The application through which the users reach their node (certs/<regio>/toepassing-<naam>.crt).
TOEPASSING = "casussysteem"
GEBRUIKERS = {"pr-anna": "procesregisseur", "ic-carla": "informatiecoordinator", "nm-dirk": "netwerkmanager"}


class Fout(Exception):
    """A step failed; the message says which and where its log is."""


def _vrije_poorten(n: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


def _nats_server() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from gedeeld.nats.server import binary

    return binary()


def _voer_uit(args: Sequence[str], *, cwd: Path) -> str:
    """Run one command, print it as an operator would type it, return its output."""
    getoond = [Path(args[0]).name, *args[1:]]
    print("$ " + shlex.join(getoond), flush=True)
    r = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    if r.returncode != 0:
        raise Fout(f"{shlex.join(getoond)} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def _zvhctl(*args: str, cwd: Path) -> str:
    return _voer_uit([str(BIN / "zvhctl"), *args], cwd=cwd)


def opzetten(map_: Path, regios: Sequence[str], drempel: int) -> None:
    if (map_ / "opzet.json").exists():
        raise Fout(f"{map_} is already set up; remove it to start anew")
    map_.mkdir(parents=True, exist_ok=True)
    poorten = _vrije_poorten(4 * HUB_SERVERS + 3 * len(regios))
    hub = [poorten[4 * i : 4 * i + 4] for i in range(HUB_SERVERS)]
    rest = poorten[4 * HUB_SERVERS :]
    per_regio = {
        r: dict(zip(("leaf", "grpc", "beheer"), rest[3 * i : 3 * i + 3], strict=True))
        for i, r in enumerate(regios)
    }

    print("# 1. The beheerder's signing key and each region's keys", flush=True)
    beheerder = _zvhctl("federatie", "beheerder", "--map", "beheer", cwd=map_).strip()
    inschrijvingen = []
    for i, r in enumerate(regios):
        sleutels = _zvhctl("federatie", "sleutels", "--map", f"{r}/sleutels", cwd=map_)
        inschrijvingen.append(
            f'[[regio]]\ncode = "{r}"\nnaam = "Zorg- en Veiligheidshuis {r}"\n{sleutels.strip()}\n'
            f'contact = "procesregie@{r}.zvh.invalid"\noin = "{i + 1:020d}"\n'
        )
    (map_ / "regios.toml").write_text("\n".join(inschrijvingen))

    print("# 2. The key ceremony: the signed federation registry", flush=True)
    _zvhctl(
        "federatie", "init", "--regios", "regios.toml", "--drempel", str(drempel),
        "--beheerder", "beheer/beheerder.key", "--epoch", "1", "--uit", "federatie.reg", cwd=map_,
    )  # fmt: skip
    register = ["--register", "federatie.reg", "--beheerder", beheerder]

    print("# 3. A development CA and certificates (production: PKIoverheid, OIN in serialNumber)", flush=True)
    _zvhctl("certs", *register, "--uit", "certs", "--hub", str(HUB_SERVERS), cwd=map_)
    print(
        "# 3b. Each region's application certificate for its users' client: the gRPC API accepts only\n"
        "#     this region's user and application certificates as callers, never a node's or leaf's",
        flush=True,
    )
    regioargs = [a for r in regios for a in ("--regio", r)]
    _zvhctl("certs", *register, "--uit", "certs", *regioargs, "--toepassing", TOEPASSING, cwd=map_)

    print(
        "# 4. nats-server configs: a 3-server hub cluster and a leaf node per region, TLS everywhere",
        flush=True,
    )
    hubargs = [a for p in hub for a in ("--hub", "127.0.0.1:" + ":".join(map(str, p)))]
    leafargs = [a for r in regios for a in ("--leaf-poort", f"{r}={per_regio[r]['leaf']}")]
    _zvhctl(
        "federatie", "nats", *register, "--uit", "nats", *hubargs, "--hub-luister", "127.0.0.1",
        "--hub-data", str(map_ / "data" / "hub"), "--leaf-data", str(map_ / "data" / "leaf"),
        *leafargs, "--tls", "certs", "--tls-doel", str(map_ / "certs"), cwd=map_,
    )  # fmt: skip

    print("# 5. Each region's node: configuration, database, users", flush=True)
    for r in regios:
        _schrijf_node_config(map_, r, per_regio[r], beheerder)
        cfg = f"{r}/node.toml"
        _zvhctl("--config", cfg, "db", "upgrade", cwd=map_)
        tokens = {
            g: _zvhctl("--config", cfg, "token", "nieuw", g, rol, cwd=map_).strip()
            for g, rol in GEBRUIKERS.items()
        }
        _geheim(map_ / r / "gebruikers.json", json.dumps(tokens, indent=2))

    opzet = Opzet(list(regios), hub, per_regio, beheerder)
    (map_ / "opzet.json").write_text(json.dumps(asdict(opzet), indent=2))
    print(f"Set up in {map_}. Start it with: python deploy/operatie.py start --map {map_}", flush=True)


def _geheim(pad: Path, tekst: str) -> None:
    pad.touch(mode=0o600)
    pad.write_text(tekst)


def _schrijf_node_config(map_: Path, r: str, poorten: dict[str, int], beheerder: str) -> None:
    import tomllib

    cred = tomllib.loads((map_ / "nats" / r / "credentials.toml").read_text())
    _geheim(map_ / r / "nats-wachtwoord", cred["node_wachtwoord"])
    (map_ / r / "node.toml").write_text(
        f"""# Region {r}: written by deploy/operatie.py. Every setting: docs/configuratie.md.
regio = "{r}"
data_dir = "data"
log_level = "INFO"

[nats]
url = "tls://127.0.0.1:{poorten["leaf"]}"   # the region's own leaf node
gebruiker = "node"
wachtwoord_bestand = "nats-wachtwoord"
hub_domein = "hub"
ca = "../certs/ca.crt"
cert = "../certs/{r}/node.crt"
key = "../certs/{r}/node.key"

[tls]  # gRPC with mutual TLS
cert = "../certs/{r}/node.crt"
key = "../certs/{r}/node.key"
client_ca = "../certs/ca.crt"

[casusregister]
listen = "127.0.0.1:{poorten["grpc"]}"

[beheer]
listen = "127.0.0.1:{poorten["beheer"]}"

[federatie]
register = "../federatie.reg"
beheerder_sleutel = "{beheerder}"
sleutels = "sleutels"
"""
    )
    (map_ / r / "data").mkdir(exist_ok=True)


@dataclass(frozen=True)
class Opzet:
    """DIR/opzet.json: the regions and the ports ``opzetten`` chose."""

    regios: list[str]
    hub: list[list[int]]  # per hub server: client, cluster, leaf node, monitor port
    poorten: dict[str, dict[str, int]]  # per region: leaf, grpc, beheer port
    beheerder: str

    @classmethod
    def lees(cls, map_: Path) -> Opzet:
        try:
            return cls(**json.loads((map_ / "opzet.json").read_text()))
        except FileNotFoundError:
            raise Fout(
                f"{map_} is not set up: run `python deploy/operatie.py opzetten --map {map_}`"
            ) from None

    def namen(self) -> list[str]:
        return [
            *(f"hub-{i + 1}" for i in range(len(self.hub))),
            *(f"leaf-{r}" for r in self.regios),
            *(f"node-{r}" for r in self.regios),
        ]


def _opdracht(map_: Path, naam: str) -> list[str]:
    soort, _, wat = naam.partition("-")
    if soort == "hub":
        return [_nats_server(), "-c", str(map_ / "nats" / "hub" / f"hub-{wat}.conf")]
    if soort == "leaf":
        return [_nats_server(), "-c", str(map_ / "nats" / wat / "leaf.conf")]
    return [str(BIN / "zvh-node"), "--config", str(map_ / wat / "node.toml")]


def _pid(map_: Path, naam: str) -> int | None:
    try:
        pid = int((map_ / "run" / f"{naam}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def _poort_open(poort: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", poort), timeout=0.5).close()
    except OSError:
        return False
    return True


def _http_ok(poort: int, pad: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", poort, timeout=2)
    try:
        conn.request("GET", pad)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _klaar(opzet: Opzet, naam: str) -> bool:
    soort, _, wat = naam.partition("-")
    if soort == "hub":
        # Alone, a hub server is not healthy (no JetStream quorum): it is up when it serves.
        return _http_ok(opzet.hub[int(wat) - 1][3], "/varz")
    poorten = opzet.poorten[wat]
    if soort == "leaf":
        return _poort_open(poorten["leaf"])
    return _http_ok(poorten["beheer"], "/readyz")


def _start_een(map_: Path, opzet: Opzet, naam: str, timeout: float = 60) -> None:
    if _pid(map_, naam) is not None:
        print(f"{naam} runs already", flush=True)
        return
    opdracht = _opdracht(map_, naam)
    (map_ / "logs").mkdir(exist_ok=True)
    (map_ / "run").mkdir(exist_ok=True)
    log = map_ / "logs" / f"{naam}.log"
    print(f"$ {shlex.join([Path(opdracht[0]).name, *opdracht[1:]])} &   # {naam}, log {log}", flush=True)
    with log.open("ab") as uit:
        proc = subprocess.Popen(
            opdracht, cwd=map_, stdout=uit, stderr=subprocess.STDOUT, start_new_session=True
        )
    (map_ / "run" / f"{naam}.pid").write_text(str(proc.pid))
    einde = time.monotonic() + timeout
    while not _klaar(opzet, naam):
        if proc.poll() is not None:
            raise Fout(f"{naam} stopped with exit code {proc.returncode}; see {log}")
        if time.monotonic() > einde:
            raise Fout(f"{naam} not ready after {timeout:.0f}s; see {log}")
        time.sleep(0.2)


def _wacht_op_quorum(opzet: Opzet, timeout: float = 60) -> None:
    """Every hub server healthy: routes up and a JetStream meta leader elected."""
    einde = time.monotonic() + timeout
    while not all(_http_ok(h[3], "/healthz") for h in opzet.hub):
        if time.monotonic() > einde:
            raise Fout(f"the hub cluster has no JetStream quorum after {timeout:.0f}s; see logs/hub-*.log")
        time.sleep(0.2)


def start(map_: Path, gevraagd: Sequence[str]) -> None:
    opzet = Opzet.lees(map_)
    alle = opzet.namen()
    wat = list(gevraagd) or alle
    onbekend = sorted(set(wat) - set(alle))
    if onbekend:
        raise Fout(f"unknown: {', '.join(onbekend)} (known: {', '.join(alle)})")
    hubs = [n for n in alle if n.startswith("hub-") and n in wat]
    for naam in hubs:
        _start_een(map_, opzet, naam)
    if len(hubs) == HUB_SERVERS:
        _wacht_op_quorum(opzet)
        print("# The hub's streams, as its beheer user (repeatable)", flush=True)
        _zvhctl(
            "federatie", "nats-stromen", "--register", "federatie.reg", "--beheerder", opzet.beheerder,
            "--uit", "nats", "--server", f"tls://127.0.0.1:{opzet.hub[0][0]}", "--tls", "certs",
            "--replicas", "3", cwd=map_,
        )  # fmt: skip
    for naam in alle:
        if naam in wat and not naam.startswith("hub-"):
            _start_een(map_, opzet, naam)


def stop(map_: Path, gevraagd: Sequence[str], timeout: float = 20) -> None:
    opzet = Opzet.lees(map_)
    # Nodes first, then leaves, then the hub: the reverse of starting.
    for naam in reversed([n for n in opzet.namen() if not gevraagd or n in gevraagd]):
        pid = _pid(map_, naam)
        if pid is None:
            continue
        print(f"$ kill {pid}   # {naam}", flush=True)
        os.kill(pid, signal.SIGTERM)
        einde = time.monotonic() + timeout
        while _pid(map_, naam) is not None and time.monotonic() < einde:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        if _pid(map_, naam) is not None:
            os.kill(pid, signal.SIGKILL)
        (map_ / "run" / f"{naam}.pid").unlink(missing_ok=True)


def status(map_: Path) -> int:
    opzet = Opzet.lees(map_)
    slechtste = 0
    for r in opzet.regios:
        print(f"$ zvhctl --config {r}/node.toml status", flush=True)
        rc = subprocess.run(
            [str(BIN / "zvhctl"), "--config", f"{r}/node.toml", "status"], cwd=map_, check=False
        ).returncode
        slechtste = max(slechtste, rc)
    return slechtste


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="operatie.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("opzetten", help="keys, ceremony, certificates, NATS and node configs, databases")
    o.add_argument("--regio", action="append", help="region code (repeat; default wvv, arnhem, haaglanden)")
    o.add_argument("--drempel", type=int, default=2, help="threshold t of the OPRF key (default 2)")
    for naam in ("start", "stop"):
        s = sub.add_parser(naam, help=f"{naam} processes (default: all)")
        s.add_argument("namen", nargs="*", metavar="NAME")
    sub.add_parser("status", help="zvhctl status of every region (exit code: the worst)")
    for s in sub.choices.values():
        s.add_argument("--map", type=Path, required=True, help="the federation's directory")
    ns = p.parse_args(argv)
    map_ = ns.map.resolve()
    try:
        if ns.cmd == "opzetten":
            opzetten(map_, ns.regio or REGIOS, ns.drempel)
        elif ns.cmd == "start":
            start(map_, ns.namen)
        elif ns.cmd == "stop":
            stop(map_, ns.namen)
        else:
            return status(map_)
    except Fout as exc:
        print(f"operatie: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
