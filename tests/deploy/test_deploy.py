"""deploy/ validated without Docker or a cluster: the Dockerfile, the compose federation (a hub
cluster of three servers, a leaf node per region), the Kubernetes manifests for one region (the
node with its leaf node as a sidecar) and the systemd units (leaf, node, migration).

Every YAML file is parsed; references (services, files, volumes, Secrets, ports, labels) must
resolve; each region's configuration goes through ``gedeeld.config.laad`` with the environment the
deployment gives it and its paths mapped onto what would be mounted there (certificates from a real
``zvhctl certs``); the nats-server configs that ``deploy/genereer.py`` produces with the real
commands are checked by the real nats-server, and the image's health check command runs against the
node's real admin endpoint. Each checker returns a list of problems and is shown to reject broken
copies.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import configparser
import contextlib
import copy
import functools
import importlib.util
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from nats.aio.client import DEFAULT_DRAIN_TIMEOUT

from gedeeld import config as configuratie
from gedeeld.beheer.eindpunt import BeheerServer
from gedeeld.config import NodeConfig
from gedeeld.fouten import ConfigError
from gedeeld.nats.hubconfig import HUB_DOMEIN, NODE_GEBRUIKER
from gedeeld.nats.server import binary as nats_server
from services.cli import zvhctl
from services.cli.natsconfig import certificaatnamen

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"
REGIOS = sorted(p.stem for p in (DEPLOY / "regios").glob("*.toml"))
# Created by hand (deploy/k8s/secrets.yaml says why): referenced by the Deployment, not shipped.
EXTERNE_SECRETS = {"zvh-verwerkingslog", "zvh-node-tls", "zvh-leaf"}
# Settings holding file paths (mapped onto the mounts); LAAD_PADEN: those laad itself needs.
LAAD_PADEN = (
    "data_dir",
    "federatie.register",
    "federatie.sleutels",
    "tls.cert",
    "tls.key",
    "tls.client_ca",
    "nats.ca",
    "nats.cert",
    "nats.key",
    "nats.wachtwoord_bestand",
)
PADEN = (*LAAD_PADEN, "auth.tokens", "verwerkingslog.sleutel")


def _laad_module(pad: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(pad.stem, pad)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


genereer = _laad_module(DEPLOY / "genereer.py")


# ── facts taken from the code, not restated here ─────────────────────────────────────────────


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


SCRIPTS = frozenset(_pyproject()["project"]["scripts"])


def _instellingen() -> tuple[frozenset[str], frozenset[str]]:
    """What gedeeld/config.py reads: ``_get(doc, "section.key", …)``, and free tables ``doc.get("…")``."""
    paden: set[str] = set()
    tabellen: set[str] = set()
    for node in ast.walk(ast.parse((ROOT / "gedeeld" / "config.py").read_text())):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id == "_get" and len(node.args) >= 2:
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                paden.add(arg.value)
        elif (
            isinstance(f, ast.Attribute)
            and f.attr == "get"
            and isinstance(f.value, ast.Name)
            and f.value.id == "doc"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            tabellen.add(str(node.args[0].value))
    return frozenset(paden), frozenset(tabellen)


INSTELLINGEN, VRIJE_TABELLEN = _instellingen()


def _stopbudget() -> float:
    """zvh-node's --grace default plus the NATS drain timeout: what a stop may take before SIGKILL."""
    for node in ast.walk(ast.parse((ROOT / "services" / "node" / "opstart.py").read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "--grace"
        ):
            for kw in node.keywords:
                if kw.arg == "default" and isinstance(kw.value, ast.Constant):
                    assert isinstance(kw.value.value, int | float)
                    return float(kw.value.value) + DEFAULT_DRAIN_TIMEOUT
    raise AssertionError("zvh-node has no --grace option with a default")


STOPBUDGET = _stopbudget()


def instellingen_in(doc: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for sleutel, waarde in doc.items():
        pad = prefix + sleutel
        if isinstance(waarde, Mapping) and pad not in VRIJE_TABELLEN:
            yield from instellingen_in(waarde, pad + ".")
        else:
            yield pad


def env_instelling(naam: str) -> str | None:
    """The setting a ZVH_ variable overrides (ZVH_NATS__WACHTWOORD: nats.wachtwoord); None otherwise."""
    if not naam.startswith("ZVH_"):
        return None
    return naam[4:].lower().replace("__", ".", 1)


def env_naam(instelling: str) -> str:
    return "ZVH_" + instelling.replace(".", "__").upper()


def waarde_van(doc: Mapping[str, Any], pad: str) -> Any:
    node: Any = doc
    for deel in pad.split("."):
        if not isinstance(node, Mapping) or deel not in node:
            return None
        node = node[deel]
    return node


def seconden(tekst: str | int | float) -> float:
    """'60', '60s', '1min 30s', '1m30s' in seconds (systemd and compose durations)."""
    if isinstance(tekst, int | float):
        return float(tekst)
    delen = re.findall(r"(\d+(?:\.\d+)?)\s*(min|ms|m|s|h)?", tekst)
    factor = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}
    return sum(float(n) * factor[eenheid] for n, eenheid in delen)


# ── a region's configuration as a container would see it ─────────────────────────────────────


@dataclass(frozen=True)
class Mount:
    doel: PurePosixPath  # where it appears for the node
    bron: Path | None  # where it is on this machine; None: a volume that starts empty


def op_mount(pad: PurePosixPath, mounts: list[Mount]) -> tuple[Mount, PurePosixPath] | None:
    passend = [m for m in mounts if pad == m.doel or m.doel in pad.parents]
    if not passend:
        return None
    m = max(passend, key=lambda m: len(m.doel.parts))
    return m, pad.relative_to(m.doel)


def op_deze_machine(m: Mount, rest: PurePosixPath, leeg: Path) -> Path:
    if m.bron is not None:
        basis = m.bron
    else:
        basis = leeg / str(m.doel).lstrip("/")
        basis.mkdir(parents=True, exist_ok=True)
    return basis if str(rest) == "." else basis / rest


def laad_in_container(
    config: Path, env: Mapping[str, str], mounts: list[Mount], leeg: Path, nodig: tuple[str, ...] = PADEN
) -> tuple[NodeConfig | None, dict[str, Any], list[str]]:
    """laad(config, env) with every path setting moved from the container onto its mount here.

    ``nodig``: the path settings this process uses, which must therefore be on a mount; a
    migration only needs what laad itself checks.
    """
    try:
        doc = tomllib.loads(config.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return None, {}, [f"{config.name}: {type(exc).__name__}: {exc}"]
    problemen = [
        f"{config.name}: {p} is not a setting of gedeeld/config.py"
        for p in instellingen_in(doc)
        if p not in INSTELLINGEN and p not in VRIJE_TABELLEN
    ]
    problemen += [
        f"environment {naam} is not a setting of gedeeld/config.py"
        for naam in env
        if (i := env_instelling(naam)) is not None and i not in INSTELLINGEN
    ]
    env = dict(env)
    for instelling in PADEN:
        waarde = env.get(env_naam(instelling)) or waarde_van(doc, instelling)
        if waarde is None:
            continue
        pad = PurePosixPath(str(waarde))
        gevonden = op_mount(pad, mounts) if pad.is_absolute() else None
        if gevonden is None and instelling not in nodig:
            continue
        if gevonden is None:
            problemen.append(f"{config.name}: {instelling} = {waarde} is on no mount or volume")
            continue
        env[env_naam(instelling)] = str(op_deze_machine(*gevonden, leeg))
    try:
        cfg = configuratie.laad(config, env=env)
    except ConfigError as exc:
        return None, doc, [*problemen, f"{config.name}: {exc.message}"]
    return cfg, doc, problemen


# ── the key ceremony, run as docs/deploy.md tells the beheerder and the regions ───────────────


@dataclass(frozen=True)
class Ceremonie:
    map: Path  # FEDERATIE_MAP: federatie.reg, sleutels/<regio>/, and certs/, nats/ of genereer.py
    beheerder: str  # hex


def _zvhctl(*args: str) -> str:
    uit = io.StringIO()
    with contextlib.redirect_stdout(uit):
        assert zvhctl.main(list(args)) == 0
    return uit.getvalue()


@pytest.fixture(scope="module")
def ceremonie(tmp_path_factory: pytest.TempPathFactory) -> Ceremonie:
    tmp = tmp_path_factory.mktemp("ceremonie")
    federatie = tmp / "federatie"
    beheerder = _zvhctl("federatie", "beheerder", "--map", str(tmp / "beheer")).strip()
    regios = ""
    for r in REGIOS:
        publiek = _zvhctl("federatie", "sleutels", "--map", str(federatie / "sleutels" / r))
        regios += (
            f'[[regio]]\ncode = "{r}"\nnaam = "ZVH {r}"\ncontact = "procesregie@{r}.invalid"\n{publiek}\n'
        )
    (tmp / "regios.toml").write_text(regios)
    _zvhctl(
        "federatie",
        "init",
        "--regios",
        str(tmp / "regios.toml"),
        "--drempel",
        "2",
        "--beheerder",
        str(tmp / "beheer" / "beheerder.key"),
        "--uit",
        str(federatie / "federatie.reg"),
    )
    # Then what docs/deploy.md has the operator run for compose: certificates, nats-server configs
    # and the nodes' password files, by deploy/genereer.py with the real zvhctl commands.
    with contextlib.redirect_stdout(io.StringIO()):
        assert genereer.main(["--map", str(federatie), "--beheerder", beheerder]) == 0
    return Ceremonie(federatie, beheerder)


# ── compose ───────────────────────────────────────────────────────────────────────────────────

_VARIABELE = re.compile(r"\$(?:(\$)|\{([A-Za-z_]\w*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_]\w*))")
CONDITIES = {"service_started", "service_healthy", "service_completed_successfully"}


class OntbrekendeVariabele(Exception):
    pass


def interpoleer(waarde: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable interpolation: $$, ${X}, ${X:-d}, ${X-d}, ${X:?err}, ${X?err}."""
    if isinstance(waarde, dict):
        return {k: interpoleer(v, env) for k, v in waarde.items()}
    if isinstance(waarde, list):
        return [interpoleer(v, env) for v in waarde]
    if not isinstance(waarde, str):
        return waarde

    def vervang(m: re.Match[str]) -> str:
        if m.group(1):
            return "$"
        naam, op, arg = m.group(2) or m.group(5), m.group(3), m.group(4) or ""
        leeg = not env.get(naam)
        if op == ":-":
            return arg if leeg else env[naam]
        if op == "-":
            return env.get(naam, arg)
        if (op == ":?" and leeg) or (op == "?" and naam not in env):
            raise OntbrekendeVariabele(f"{naam}: {arg}")
        return env.get(naam, "")

    return _VARIABELE.sub(vervang, waarde)


@functools.cache
def _yaml(pad: Path) -> tuple[Any, ...]:
    """Parsed once per run (PyYAML is slow); callers get deep copies to change."""
    return tuple(d for d in yaml.safe_load_all(pad.read_text()) if d is not None)


def compose_ruw() -> dict[str, Any]:
    doc = copy.deepcopy(_yaml(COMPOSE)[0])
    assert isinstance(doc, dict)
    return doc


def compose_doc(env: Mapping[str, str]) -> dict[str, Any]:
    doc = interpoleer(compose_ruw(), env)
    assert isinstance(doc, dict)
    return doc


def afhankelijkheden(dienst: Mapping[str, Any]) -> dict[str, str]:
    deps = dienst.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {naam: (v or {}).get("condition", "service_started") for naam, v in deps.items()}


def heeft_healthcheck(dienst: Mapping[str, Any]) -> bool:
    hc = dienst.get("healthcheck") or {}
    return bool(hc) and not hc.get("disable") and hc.get("test") not in (["NONE"], "NONE")


def compose_mounts(dienst: Mapping[str, Any]) -> Iterator[tuple[str, str | None, str]]:
    """(type, source, target) of short and long volume syntax."""
    for v in dienst.get("volumes") or []:
        if isinstance(v, str):
            delen = v.split(":")
            if len(delen) == 1:
                yield "volume", None, delen[0]
                continue
            soort = "bind" if delen[0].startswith((".", "/", "~")) else "volume"
            yield soort, delen[0], delen[1]
        else:
            yield v.get("type", "volume"), v.get("source"), v["target"]


def bron_pad(bron: str, basis: Path) -> Path:
    pad = Path(bron).expanduser()
    return (pad if pad.is_absolute() else basis / pad).resolve()


def gepubliceerd(dienst: Mapping[str, Any]) -> Iterator[tuple[int | None, int]]:
    """(host port, container port) of the published ports."""
    for p in dienst.get("ports") or []:
        if isinstance(p, dict):
            host = p.get("published")
            yield (int(host) if host is not None else None), int(p["target"])
            continue
        delen = str(p).split("/")[0].split(":")
        yield (int(delen[-2]) if len(delen) > 1 else None), int(delen[-1])


def controleer_compose(doc: Mapping[str, Any], basis: Path) -> list[str]:
    p: list[str] = []
    diensten: dict[str, Any] = doc.get("services") or {}
    volumes = set(doc.get("volumes") or {})
    poorten: dict[int, str] = {}
    if not diensten:
        p.append("no services")
    for naam, d in diensten.items():
        if "image" not in d and "build" not in d:
            p.append(f"{naam}: neither image nor build")
        if "build" in d:
            b = d["build"] if isinstance(d["build"], dict) else {"context": d["build"]}
            context = bron_pad(b.get("context", "."), basis)
            if not (context / b.get("dockerfile", "Dockerfile")).is_file():
                p.append(f"{naam}: no Dockerfile {b.get('dockerfile')} in build context {context}")
        for dep, conditie in afhankelijkheden(d).items():
            if dep not in diensten:
                p.append(f"{naam}: depends on {dep}, which is not a service")
                continue
            if conditie not in CONDITIES:
                p.append(f"{naam}: unknown condition {conditie} for {dep}")
            if conditie == "service_healthy" and not heeft_healthcheck(diensten[dep]):
                p.append(f"{naam}: waits for {dep} to be healthy, but {dep} has no healthcheck")
            if conditie == "service_completed_successfully" and diensten[dep].get("restart", "no") != "no":
                p.append(f"{naam}: waits for {dep} to complete, but {dep} restarts")
        for soort, bron, doel in compose_mounts(d):
            if soort == "bind" and (bron is None or not bron_pad(bron, basis).exists()):
                p.append(f"{naam}: bind mount source {bron} (for {doel}) does not exist")
            elif soort == "volume" and bron is not None and bron not in volumes:
                p.append(f"{naam}: volume {bron} is not declared under volumes")
        for host, _ in gepubliceerd(d):
            if host is None:
                continue
            if host in poorten:
                p.append(f"{naam}: host port {host} is also published by {poorten[host]}")
            poorten[host] = naam
    return p


def config_bron(dienst: Mapping[str, Any], basis: Path) -> Path | None:
    """The file mounted where the service's --config argument points."""
    cmd = dienst.get("command") or []
    if "--config" not in cmd or cmd.index("--config") + 1 >= len(cmd):
        return None
    doel = cmd[cmd.index("--config") + 1]
    for soort, bron, d in compose_mounts(dienst):
        if soort == "bind" and d == doel and bron is not None:
            return bron_pad(bron, basis)
    return None


def controleer_regio(doc: Mapping[str, Any], regio: str, basis: Path) -> list[str]:
    """A region's four services: PostgreSQL, then the migration, then the node; and its leaf node."""
    d = doc["services"]
    pg, mig, node, leaf = f"postgres-{regio}", f"migrate-{regio}", f"node-{regio}", f"leaf-{regio}"
    ontbrekend = [n for n in (pg, mig, node, leaf) if n not in d]
    if ontbrekend:
        return [f"region {regio}: no service {n}" for n in ontbrekend]
    p: list[str] = []
    if afhankelijkheden(d[node]).get(mig) != "service_completed_successfully":
        p.append(f"{node} must depend on {mig} with condition service_completed_successfully")
    if afhankelijkheden(d[mig]).get(pg) != "service_healthy":
        p.append(f"{mig} must depend on {pg} with condition service_healthy")
    if afhankelijkheden(d[node]).get(leaf) != "service_healthy":
        p.append(f"{node} must depend on {leaf} with condition service_healthy")
    if afhankelijkheden(d[node]).get(STROMEN) != "service_completed_successfully":
        p.append(f"{node} must wait for {STROMEN} (the hub's streams) to complete successfully")
    if not str(d[leaf].get("image", "")).startswith("nats:"):
        p.append(f"{leaf}: image must be nats")
    if d[node].get("healthcheck", {}).get("test") != ["CMD", *healthcheck_argv(DOCKERFILE.read_text())]:
        p.append(f"{node}: its healthcheck is not the Dockerfile's HEALTHCHECK")
    if not str(d[pg].get("image", "")).startswith("postgres:16"):
        p.append(f"{pg}: image must be postgres:16")
    if not heeft_healthcheck(d[pg]):
        p.append(f"{pg}: no healthcheck")
    if not any(s == "volume" and b and t == "/var/lib/postgresql/data" for s, b, t in compose_mounts(d[pg])):
        p.append(f"{pg}: its data is not on a named volume")
    eigen = (basis / "regios" / f"{regio}.toml").resolve()
    for naam, verwacht in (
        (mig, ["zvhctl", "--config", None, "db", "upgrade"]),
        (node, ["zvh-node", "--config", None]),
    ):
        cmd = d[naam].get("command")
        if (
            not isinstance(cmd, list)
            or len(cmd) != len(verwacht)
            or any(v is not None and c != v for c, v in zip(cmd, verwacht, strict=True))
        ):
            p.append(f"{naam}: command must be {verwacht} (None: the config path)")
            continue
        if cmd[0] not in SCRIPTS:
            p.append(f"{naam}: {cmd[0]} is not a console script of pyproject.toml")
        if config_bron(d[naam], basis) != eigen:
            p.append(f"{naam}: --config {cmd[2]} is not a mount of deploy/regios/{regio}.toml")
    if seconden(d[node].get("stop_grace_period", "10s")) <= STOPBUDGET:
        p.append(f"{node}: stop_grace_period must exceed {STOPBUDGET:.0f}s (grace + NATS drain)")
    return p


def compose_mount_lijst(dienst: Mapping[str, Any], basis: Path) -> list[Mount]:
    return [
        Mount(PurePosixPath(doel), bron_pad(bron, basis) if soort == "bind" and bron else None)
        for soort, bron, doel in compose_mounts(dienst)
    ]


# ── nats-server configs, as `zvhctl federatie nats` writes them ──

STROMEN = "nats-stromen"  # compose's one-shot service that creates the hub's streams


def nats_blok(conf: str, naam: str) -> str:
    """A top-level block ``naam: { … }`` (the generated files close it with ``}`` in column 0)."""
    m = re.search(rf"^{naam}: \{{$(.*?)^\}}$", conf, re.M | re.S)
    return m.group(1) if m else ""


def nats_listen(tekst: str, sleutel: str = "listen") -> int | None:
    """The port of ``listen: "host:port"`` (top level) or ``"listen": "host:port"`` (in a block)."""
    m = re.search(rf'^\s*"?{sleutel}"?:\s*"[^"]*:(\d+)"', tekst, re.M)
    return int(m.group(1)) if m else None


def nats_urls(tekst: str) -> list[tuple[str, int]]:
    """(host, port) of the route and remote URLs (nats-route://, tls://, nats://), with or without a
    user and password (a TLS leaf's remotes have none: the hub maps its certificate)."""
    return [(h, int(pt)) for h, pt in re.findall(r'"[a-z-]+://(?:[^@"/]*@)?([^:"/@]+):(\d+)"', tekst)]


def nats_bestanden(conf: str) -> set[str]:
    return set(re.findall(r'"(?:cert_file|key_file|ca_file)":\s*"([^"]+)"', conf))


def nats_wachtwoord(conf: str, gebruiker: str) -> str | None:
    m = re.search(rf'"user":\s*"{re.escape(gebruiker)}",\s*"password":\s*"([^"]+)"', conf)
    return m.group(1) if m else None


def nats_store(conf: str) -> str | None:
    m = re.search(r'"store_dir":\s*"([^"]+)"', conf)
    return m.group(1) if m else None


def healthcheck_poort(test: Any, pad: str) -> int | None:
    m = re.search(rf"127\.0\.0\.1:(\d+){re.escape(pad)}", " ".join(map(str, test or [])))
    return int(m.group(1)) if m else None


def controleer_nats_dienst(naam: str, dienst: Mapping[str, Any], basis: Path) -> list[str]:
    """A nats-server service: its --config mounted, every certificate it names on a bind mount
    that exists, its JetStream on a named volume, its health check on its monitoring port."""
    conf = config_bron(dienst, basis)
    if conf is None or not conf.is_file():
        return [f"{naam}: no nats-server config mounted at its --config path"]
    tekst = conf.read_text()
    p: list[str] = []
    mounts = compose_mount_lijst(dienst, basis)
    for pad in sorted(nats_bestanden(tekst)):
        gevonden = op_mount(PurePosixPath(pad), mounts)
        if gevonden is None or gevonden[0].bron is None or not op_deze_machine(*gevonden, basis).is_file():
            p.append(f"{naam}: {pad} (named in {conf.name}) is not a mounted file")
    store = nats_store(tekst)
    gevonden = op_mount(PurePosixPath(store), mounts) if store else None
    if gevonden is None or gevonden[0].bron is not None:
        p.append(f"{naam}: JetStream store_dir {store} is not on a named volume")
    monitor = nats_listen(tekst, "http")
    if (
        monitor is None
        or healthcheck_poort((dienst.get("healthcheck") or {}).get("test"), "/healthz") != monitor
    ):
        p.append(f"{naam}: the healthcheck does not ask /healthz on the monitoring port {monitor}")
    return p


def hub_diensten(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        n: d
        for n, d in (doc.get("services") or {}).items()
        if str(d.get("image", "")).startswith("nats:") and "hub" in n
    }


def controleer_hub_cluster(doc: Mapping[str, Any], basis: Path) -> list[str]:
    """Three (an odd number, at least three) hub servers whose routes name each other's cluster
    port, every leaf's remotes naming every hub server's leaf node port, and nats-stromen."""
    hubs = hub_diensten(doc)
    if len(hubs) < 3 or len(hubs) % 2 == 0:
        return [f"the hub must be an odd number of at least 3 servers, not {sorted(hubs)}"]
    p: list[str] = []
    confs: dict[str, str] = {}
    for naam, d in hubs.items():
        p += controleer_nats_dienst(naam, d, basis)
        conf = config_bron(d, basis)
        confs[naam] = conf.read_text() if conf is not None and conf.is_file() else ""
    namen = {re.search(r'^server_name: "([^"]+)"', c, re.M).group(1) for c in confs.values() if c}  # type: ignore[union-attr]
    if len(namen) != len(hubs):
        p.append(f"the hub servers' server_name values are not distinct: {sorted(namen)}")
    for naam, tekst in confs.items():
        cluster = nats_blok(tekst, "cluster")
        routes = nats_urls(cluster)
        verwacht = {(h, nats_listen(nats_blok(c, "cluster"))) for h, c in confs.items() if h != naam}
        if set(routes) != verwacht or len(routes) != len(verwacht):
            p.append(f"{naam}: routes {sorted(routes)} are not the other hub servers' cluster ports")
    leaf_poorten = {(h, nats_listen(nats_blok(c, "leafnodes"))) for h, c in confs.items()}
    for naam, d in (doc.get("services") or {}).items():
        if naam.startswith("leaf-"):
            conf = config_bron(d, basis)
            remotes = (
                set(nats_urls(nats_blok(conf.read_text(), "leafnodes"))) if conf and conf.is_file() else set()
            )
            if remotes != leaf_poorten:
                p.append(f"{naam}: remotes {sorted(remotes)} are not the hub servers' leaf node ports")
            for hub in hubs:
                if afhankelijkheden(d).get(hub) is None:
                    p.append(f"{naam}: does not depend on {hub}")
            p += controleer_nats_dienst(naam, d, basis)
    p += controleer_stromen(doc, basis, confs)
    return p


def controleer_stromen(doc: Mapping[str, Any], basis: Path, confs: Mapping[str, str]) -> list[str]:
    d = (doc.get("services") or {}).get(STROMEN)
    if d is None:
        return [f"no service {STROMEN} creating the hub's streams"]
    cmd = [str(x) for x in d.get("command") or []]
    if cmd[:3] != ["zvhctl", "federatie", "nats-stromen"]:
        return [f"{STROMEN}: command must be zvhctl federatie nats-stromen …, not {cmd}"]
    opties = dict(zip(cmd[3::2], cmd[4::2], strict=False))
    p: list[str] = []
    if d.get("restart", "no") != "no":
        p.append(f"{STROMEN}: must not restart (a one-shot)")
    server = urlsplit(opties.get("--server", ""))
    conf = confs.get(server.hostname or "")
    if conf is None or server.scheme != "tls" or server.port != nats_listen(conf):
        p.append(f"{STROMEN}: --server {server.geturl()} is not a hub server's client port over TLS")
    if opties.get("--replicas") != str(len(confs)):
        p.append(f"{STROMEN}: --replicas must be {len(confs)}, the number of hub servers")
    mounts = compose_mount_lijst(d, basis)
    for optie, rest in (("--register", ""), ("--uit", "/hub/credentials.toml"), ("--tls", "/ca.crt")):
        pad = PurePosixPath(opties.get(optie, "") + rest)
        gevonden = op_mount(pad, mounts) if pad.is_absolute() else None
        if gevonden is None or gevonden[0].bron is None or not op_deze_machine(*gevonden, basis).is_file():
            p.append(f"{STROMEN}: {optie} {pad} is not a mounted file")
    for hub in confs:
        if afhankelijkheden(d).get(hub) != "service_healthy":
            p.append(f"{STROMEN}: must wait for {hub} to be healthy (a JetStream quorum)")
    return p


def controleer_regio_config(
    doc: Mapping[str, Any], regio: str, basis: Path, leeg: Path, expose: int
) -> list[str]:
    """The region's TOML through gedeeld.config.laad with what compose gives the migration and the node."""
    werkmap = image_werkmap(DOCKERFILE.read_text())
    d = doc["services"]
    pg, mig, node = d[f"postgres-{regio}"], d[f"migrate-{regio}"], d[f"node-{regio}"]
    p: list[str] = []
    for naam, dienst in ((f"migrate-{regio}", mig), (f"node-{regio}", node)):
        config = config_bron(dienst, basis)
        if config is None:
            p.append(f"{naam}: no configuration mounted at its --config path")
            continue
        env = {k: str(v) for k, v in (dienst.get("environment") or {}).items()}
        mounts = [Mount(werkmap, None), *compose_mount_lijst(dienst, basis)]  # + the image's own data dir
        nodig = PADEN if dienst is node else LAAD_PADEN
        cfg, ruw, problemen = laad_in_container(config, env, mounts, leeg, nodig)
        p += [f"{naam}: {x}" for x in problemen]
        if cfg is None:
            continue
        if cfg.regio != regio:
            p.append(f"{naam}: regio is {cfg.regio}, not {regio}")
        db = urlsplit(cfg.database_url)
        pg_env = pg.get("environment") or {}
        if db.hostname != f"postgres-{regio}":
            p.append(f"{naam}: database.url points at {db.hostname}, not postgres-{regio}")
        if db.username != pg_env.get("POSTGRES_USER") or db.path.lstrip("/") != pg_env.get("POSTGRES_DB"):
            p.append(f"{naam}: database.url user/database differ from postgres-{regio}'s")
        if env.get("PGPASSWORD") != pg_env.get("POSTGRES_PASSWORD"):
            p.append(f"{naam}: PGPASSWORD is not postgres-{regio}'s POSTGRES_PASSWORD")
        if dienst is not node:
            continue
        nats = urlsplit(cfg.nats_url)
        leaf = d.get(nats.hostname or "")
        leaf_conf = config_bron(leaf, basis) if leaf is not None else None
        if nats.hostname != f"leaf-{regio}" or leaf_conf is None or not leaf_conf.is_file():
            p.append(f"{naam}: nats.url {cfg.nats_url} does not point at its own leaf node leaf-{regio}")
        else:
            tekst = leaf_conf.read_text()
            if (nats.port or 4222) != nats_listen(tekst):
                p.append(f"{naam}: nats.url port is not the leaf node's client port")
            if cfg.nats_gebruiker != NODE_GEBRUIKER:
                p.append(
                    f"{naam}: nats.gebruiker is {cfg.nats_gebruiker!r}, not the leaf's {NODE_GEBRUIKER!r}"
                )
            if not cfg.nats_wachtwoord or cfg.nats_wachtwoord != nats_wachtwoord(tekst, NODE_GEBRUIKER):
                p.append(f"{naam}: nats.wachtwoord differs from the leaf's password for {NODE_GEBRUIKER!r}")
        if cfg.nats.hub_domein != HUB_DOMEIN:
            p.append(f"{naam}: nats.hub_domein must be {HUB_DOMEIN!r} (the node talks to its leaf)")
        if nats.scheme != "tls" or cfg.nats.tls is None or cfg.nats.tls.cert is None:
            p.append(f"{naam}: NATS must be tls:// with nats.ca, nats.cert and nats.key")
        if cfg.tls is None or cfg.tls.client_ca is None:
            p.append(f"{naam}: gRPC must be mutual TLS ([tls] cert, key, client_ca)")
        b_host, _, b_poort = cfg.beheer_listen.rpartition(":")
        if b_host not in {"0.0.0.0", "[::]"}:  # noqa: S104 - a comparison
            p.append(f"{naam}: beheer.listen {cfg.beheer_listen!r} is not reachable in a container")
        elif int(b_poort) != healthcheck_poort((node.get("healthcheck") or {}).get("test"), "/readyz"):
            p.append(f"{naam}: the healthcheck does not ask /readyz on beheer.listen's port {b_poort}")
        host, _, poort = cfg.casusregister.listen.rpartition(":")
        if host not in {"0.0.0.0", "[::]"}:  # noqa: S104 - a comparison; in a container it must be so
            p.append(f"{naam}: casusregister.listen {cfg.casusregister.listen} is loopback in a container")
        if int(poort) != expose:
            p.append(f"{naam}: listens on {poort}, the Dockerfile's EXPOSE and health check use {expose}")
        if int(poort) not in {c for _, c in gepubliceerd(node)}:
            p.append(f"{naam}: the gRPC port {poort} is not published")
        data_dir = PurePosixPath(str(ruw.get("data_dir", "")))
        gevonden = op_mount(data_dir, compose_mount_lijst(node, basis))
        if gevonden is None or gevonden[0].bron is not None:
            p.append(f"{naam}: data_dir {data_dir} is not on a named volume (tokens, verwerkingslog key)")
    return p


# ── Dockerfile ────────────────────────────────────────────────────────────────────────────────


def instructies(tekst: str) -> list[tuple[str, str]]:
    uit: list[tuple[str, str]] = []
    huidig = ""
    for regel in tekst.splitlines():
        if regel.lstrip().startswith("#") or (not huidig and not regel.strip()):
            continue
        if regel.rstrip().endswith("\\"):
            huidig += regel.rstrip()[:-1] + " "
            continue
        instructie, _, rest = (huidig + regel).strip().partition(" ")
        uit.append((instructie.upper(), rest.strip()))
        huidig = ""
    return uit


def laatste_fase(ins: list[tuple[str, str]]) -> list[tuple[str, str]]:
    begin = max((i for i, (naam, _) in enumerate(ins) if naam == "FROM"), default=0)
    return ins[begin:]


def expose_poorten(tekst: str) -> list[int]:
    return [
        int(x.split("/")[0]) for n, a in laatste_fase(instructies(tekst)) if n == "EXPOSE" for x in a.split()
    ]


def expose_poort(tekst: str) -> int:
    """The gRPC port: the first EXPOSEd one (the other is the beheer port of the HEALTHCHECK)."""
    poorten = expose_poorten(tekst)
    assert len(poorten) == 2, "the image exposes two ports: gRPC, then beheer"
    return poorten[0]


def image_werkmap(tekst: str) -> PurePosixPath:
    """The final stage's WORKDIR: the one directory of the image that the node's user may write."""
    mappen = [a for n, a in laatste_fase(instructies(tekst)) if n == "WORKDIR"]
    assert mappen, "the image has no WORKDIR"
    return PurePosixPath(mappen[-1])


def healthcheck_argv(tekst: str) -> list[str]:
    for naam, args in laatste_fase(instructies(tekst)):
        if naam == "HEALTHCHECK":
            _, _, cmd = args.partition("CMD ")
            argv = json.loads(cmd)
            assert isinstance(argv, list)
            return [str(a) for a in argv]
    raise AssertionError("no HEALTHCHECK")


def controleer_dockerfile(tekst: str, context: Path) -> list[str]:
    p: list[str] = []
    ins = instructies(tekst)
    froms = [a.split()[0] for n, a in ins if n == "FROM"]
    if not froms or any(f != "python:3.11-slim" for f in froms):
        p.append(f"every stage must start FROM python:3.11-slim, not {froms}")
    fase = laatste_fase(ins)
    users = [a for n, a in fase if n == "USER"]
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        p.append("the final stage must run as a non-root USER")
    gekopieerd: set[str] = set()
    for n, a in ins:
        if n != "COPY" or "--from=" in a:
            continue
        *bronnen, _ = [x for x in shlex.split(a) if not x.startswith("--")]
        for b in bronnen:
            if not (context / b).exists():
                p.append(f"COPY {b}: not in the build context")
            gekopieerd.add(b.removeprefix("./").rstrip("/"))
    nodig = {"pyproject.toml"} | {
        patroon.rstrip("*.") for patroon in _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    if nodig - gekopieerd:
        p.append(f"the packages of pyproject.toml are not all copied: missing {sorted(nodig - gekopieerd)}")
    if not any(n == "RUN" and re.search(r"pip install \.(\s|$)", a) for n, a in ins):
        p.append("the project is not installed with `pip install .`")
    for soort in ("ENTRYPOINT", "CMD"):
        regels = [a for n, a in fase if n == soort]
        if not regels:
            continue
        try:
            argv = json.loads(regels[-1])
        except json.JSONDecodeError:
            p.append(f"{soort} must be exec form (JSON), so zvh-node gets SIGTERM itself")
            continue
        if not argv or argv[0] not in SCRIPTS:
            p.append(f"{soort} {argv}: not a console script of pyproject.toml ({sorted(SCRIPTS)})")
        elif soort == "CMD" and "--config" not in argv:
            p.append("CMD must pass --config")
    if not any(n in {"CMD", "ENTRYPOINT"} for n, _ in fase):
        p.append("no CMD or ENTRYPOINT")
    try:
        expose_poort(tekst)
        poorten = expose_poorten(tekst)
        argv = healthcheck_argv(tekst)
    except (AssertionError, ValueError) as exc:
        return [*p, f"EXPOSE/HEALTHCHECK: {exc}"]
    beheer = healthcheck_poort(argv, "/readyz")
    if argv[:2] != ["python", "-c"] or "urllib" not in argv[2]:
        p.append("HEALTHCHECK must ask /readyz with urllib in python -c (the image has no curl)")
    elif beheer is None:
        p.append("HEALTHCHECK does not ask http://127.0.0.1:PORT/readyz")
    elif beheer != poorten[-1]:
        p.append(f"HEALTHCHECK does not ask the EXPOSEd beheer port {poorten[-1]}")
    return p


# ── Kubernetes ────────────────────────────────────────────────────────────────────────────────


def k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for pad in sorted(K8S.glob("*.yaml")):
        docs += copy.deepcopy(list(_yaml(pad)))
    return docs


def _index(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d.get("kind", ""), (d.get("metadata") or {}).get("name", "")): d for d in docs}


def _een(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    gevonden = [d for d in docs if d.get("kind") == kind]
    assert len(gevonden) == 1, f"expected one {kind}, found {len(gevonden)}"
    return gevonden[0]


def bestanden(doc: Mapping[str, Any]) -> dict[str, bytes]:
    """The keys of a ConfigMap or Secret with their content."""
    uit = {k: str(v).encode() for k, v in (doc.get("stringData") or {}).items()}
    if doc.get("kind") == "ConfigMap":
        uit |= {k: str(v).encode() for k, v in (doc.get("data") or {}).items()}
        uit |= {k: base64.b64decode(v) for k, v in (doc.get("binaryData") or {}).items()}
    else:
        uit |= {k: base64.b64decode(v) for k, v in (doc.get("data") or {}).items()}
    return uit


def _bevat(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _volume_bron(v: Mapping[str, Any]) -> tuple[str, str] | None:
    if "configMap" in v:
        return "ConfigMap", v["configMap"].get("name", "")
    if "secret" in v:
        return "Secret", v["secret"].get("secretName", "")
    return None


def controleer_pod(naam: str, spec: Mapping[str, Any], index: Mapping[tuple[str, str], Any]) -> list[str]:
    p: list[str] = []
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    sc = spec.get("securityContext") or {}
    if sc.get("runAsNonRoot") is not True or sc.get("runAsUser") in (None, 0):
        p.append(f"{naam}: pod must run as a non-root user")
    for v in volumes.values():
        claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
        if claim is not None and ("PersistentVolumeClaim", claim) not in index:
            p.append(f"{naam}: volume {v['name']} claims PersistentVolumeClaim {claim}, not in deploy/k8s")
        bron = _volume_bron(v)
        if bron is None:
            continue
        kind, bron_naam = bron
        bron_doc = index.get(bron)
        items = (v.get("configMap") or v.get("secret") or {}).get("items") or []
        if bron_doc is None:
            if not (kind == "Secret" and bron_naam in EXTERNE_SECRETS):
                p.append(f"{naam}: volume {v['name']} uses {kind} {bron_naam}, which is not in deploy/k8s")
            continue
        for item in items:
            if item["key"] not in bestanden(bron_doc):
                p.append(f"{naam}: volume {v['name']}: {kind} {bron_naam} has no key {item['key']}")
        mode = (v.get("secret") or {}).get("defaultMode", 0o644)
        if kind == "Secret" and mode & 0o007:
            p.append(f"{naam}: Secret volume {v['name']} is readable by others (defaultMode {mode:o})")
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        cnaam = f"{naam}/{c.get('name')}"
        cmd = c.get("command") or []
        if str(c.get("image", "")).startswith("nats:"):
            if cmd[:2] != ["nats-server", "--config"] or secret_item(spec, c, PurePosixPath(cmd[2])) is None:
                p.append(f"{cnaam}: must run nats-server --config with a config that is a Secret item")
        elif not cmd or cmd[0] not in SCRIPTS:
            p.append(f"{cnaam}: command {cmd} does not start with a console script of pyproject.toml")
        csc = c.get("securityContext") or {}
        if csc.get("allowPrivilegeEscalation") is not False:
            p.append(f"{cnaam}: allowPrivilegeEscalation must be false")
        if csc.get("readOnlyRootFilesystem") is not True:
            p.append(f"{cnaam}: readOnlyRootFilesystem must be true")
        if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
            p.append(f"{cnaam}: capabilities must drop ALL")
        for vm in c.get("volumeMounts") or []:
            if vm.get("name") not in volumes:
                p.append(f"{cnaam}: volumeMount {vm.get('name')} has no volume")
        for e in c.get("env") or []:
            instelling = env_instelling(e.get("name", ""))
            if instelling is not None and instelling not in INSTELLINGEN:
                p.append(f"{cnaam}: env {e['name']} is not a setting of gedeeld/config.py")
            for soort, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = (e.get("valueFrom") or {}).get(soort)
                if ref is None:
                    continue
                doc = index.get((kind, ref.get("name", "")))
                if doc is None or ref.get("key") not in bestanden(doc):
                    p.append(
                        f"{cnaam}: env {e['name']}: {kind} {ref.get('name')} has no key {ref.get('key')}"
                    )
        if "--config" in cmd and cmd[0] in SCRIPTS:
            pad = PurePosixPath(cmd[cmd.index("--config") + 1])
            if config_toml(spec, c, pad, index) is None:
                p.append(f"{cnaam}: --config {pad} is not a ConfigMap item mounted in the container")
    return p


def secret_item(spec: Mapping[str, Any], c: Mapping[str, Any], pad: PurePosixPath) -> str | None:
    """The Secret key mounted at ``pad`` in container ``c`` (None: no Secret item there)."""
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for vm in c.get("volumeMounts") or []:
        secret = volumes.get(vm.get("name"), {}).get("secret")
        if secret is None:
            continue
        for item in secret.get("items") or []:
            if PurePosixPath(vm["mountPath"]) / item["path"] == pad:
                return str(item["key"])
    return None


def toml_paden_ongemount(
    spec: Mapping[str, Any], c: Mapping[str, Any], toml: Mapping[str, Any], nodig: tuple[str, ...]
) -> list[str]:
    """The path settings of ``toml`` that are not a file or directory this container has mounted."""
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    uit = []
    for instelling in nodig:
        waarde = waarde_van(toml, instelling)
        if waarde is None:
            continue
        pad = PurePosixPath(str(waarde))
        vm = max(
            (
                m
                for m in c.get("volumeMounts") or []
                if pad == PurePosixPath(m["mountPath"]) or PurePosixPath(m["mountPath"]) in pad.parents
            ),
            key=lambda m: len(PurePosixPath(m["mountPath"]).parts),
            default=None,
        )
        bron = (
            (volumes.get(vm["name"], {}).get("secret") or volumes.get(vm["name"], {}).get("configMap"))
            if vm
            else None
        )
        items = (
            {str(PurePosixPath(vm["mountPath"]) / i["path"]) for i in (bron or {}).get("items") or []}
            if vm
            else set()
        )
        if vm is None or (items and str(pad) not in items and pad != PurePosixPath(vm["mountPath"])):
            uit.append(f"{instelling} = {pad}")
    return uit


def config_toml(
    spec: Mapping[str, Any], c: Mapping[str, Any], pad: PurePosixPath, index: Any
) -> bytes | None:
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for vm in c.get("volumeMounts") or []:
        v = volumes.get(vm.get("name"), {})
        if "configMap" not in v or pad.parent != PurePosixPath(vm["mountPath"]):
            continue
        doc = index.get(("ConfigMap", v["configMap"].get("name")))
        for item in v["configMap"].get("items") or []:
            if item["path"] == pad.name and doc is not None:
                return bestanden(doc).get(item["key"])
    return None


def container_poorten(c: Mapping[str, Any]) -> dict[str | int, int]:
    uit: dict[str | int, int] = {}
    for poort in c.get("ports") or []:
        uit[poort["containerPort"]] = poort["containerPort"]
        if "name" in poort:
            uit[poort["name"]] = poort["containerPort"]
    return uit


def controleer_k8s(docs: list[dict[str, Any]]) -> list[str]:
    p: list[str] = []
    for d in docs:
        meta = d.get("metadata") or {}
        if not (isinstance(d.get("apiVersion"), str) and isinstance(d.get("kind"), str) and meta.get("name")):
            p.append(
                f"a document lacks apiVersion, kind or metadata.name: {d.get('kind')} {meta.get('name')}"
            )
    soorten = [d.get("kind") for d in docs]
    for kind in ("Namespace", "ConfigMap", "Secret", "Job", "Deployment", "Service", "NetworkPolicy"):
        if kind not in soorten:
            p.append(f"no {kind}")
    if p:
        return p
    index = _index(docs)
    ns = _een(docs, "Namespace")["metadata"]["name"]
    for d in docs:
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != ns:
            p.append(f"{d['kind']} {d['metadata']['name']} is not in namespace {ns}")
    dep, job = _een(docs, "Deployment"), _een(docs, "Job")
    dep_spec, job_spec = dep["spec"]["template"]["spec"], job["spec"]["template"]["spec"]
    pod_labels = dep["spec"]["template"]["metadata"].get("labels") or {}
    job_labels = job["spec"]["template"]["metadata"].get("labels") or {}
    if dep["spec"].get("replicas") != 1:
        p.append("Deployment: replicas must be 1")
    if not _bevat(pod_labels, dep["spec"]["selector"].get("matchLabels") or {}):
        p.append("Deployment: selector does not match its pod template's labels")
    if seconden(dep_spec.get("terminationGracePeriodSeconds", 30)) <= STOPBUDGET:
        p.append(f"Deployment: terminationGracePeriodSeconds must exceed {STOPBUDGET:.0f}")
    p += controleer_pod("Deployment", dep_spec, index)
    p += controleer_pod("Job", job_spec, index)
    if job_spec.get("restartPolicy") not in {"Never", "OnFailure"}:
        p.append("Job: restartPolicy must be Never or OnFailure")
    job_cmd = job_spec["containers"][0].get("command") or []
    if job_cmd[:1] != ["zvhctl"] or job_cmd[-2:] != ["db", "upgrade"]:
        p.append(f"Job: command must be zvhctl --config … db upgrade, not {job_cmd}")
    containers = dep_spec.get("containers") or []
    poorten = container_poorten(containers[0]) if containers else {}
    beheer = poorten.get("beheer")
    if beheer is None:
        p.append("Deployment: the node has no container port named beheer")
    for probe, pad in (
        ("startupProbe", "/readyz"),
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
    ):
        pr = containers[0].get(probe) if containers else None
        if pr is None:
            p.append(f"Deployment: no {probe}")
            continue
        get = pr.get("httpGet") or {}
        poort = get.get("port")
        if get.get("path") != pad or poort is None or poorten.get(poort) != beheer or beheer is None:
            p.append(f"Deployment: {probe} is not httpGet {pad} on the beheer port ({get})")
    annotaties = dep["spec"]["template"]["metadata"].get("annotations") or {}
    if annotaties.get("prometheus.io/scrape") != "true" or annotaties.get("prometheus.io/path") != "/metrics":
        p.append(
            "Deployment: pod annotations prometheus.io/scrape 'true' and prometheus.io/path /metrics missing"
        )
    if str(annotaties.get("prometheus.io/port")) != str(beheer):
        p.append(
            f"Deployment: prometheus.io/port {annotaties.get('prometheus.io/port')} is not the beheer port"
        )
    leaves = [c for c in dep_spec.get("initContainers") or [] if str(c.get("image", "")).startswith("nats:")]
    if len(leaves) != 1:
        p.append("Deployment: no leaf node sidecar (one nats-server init container)")
    elif leaves[0].get("restartPolicy") != "Always":
        p.append("Deployment: the leaf node must be a native sidecar (restartPolicy: Always)")
    elif not (leaves[0].get("startupProbe") and leaves[0].get("livenessProbe")):
        p.append("Deployment: the leaf node sidecar needs a startupProbe and a livenessProbe")
    for kind, spec, c in (
        ("Deployment", dep_spec, containers[0] if containers else {}),
        ("Job", job_spec, job_spec["containers"][0]),
    ):
        cmd = c.get("command") or []
        tekst = (
            config_toml(spec, c, PurePosixPath(cmd[cmd.index("--config") + 1]), index)
            if "--config" in cmd
            else None
        )
        if tekst is None:
            continue
        toml = tomllib.loads(tekst.decode())
        for x in toml_paden_ongemount(spec, c, toml, PADEN if kind == "Deployment" else LAAD_PADEN):
            p.append(f"{kind}: {x} is not mounted in the container")
        if kind == "Job":
            continue
        for instelling, naam in (("casusregister.listen", "grpc"), ("beheer.listen", "beheer")):
            listen = str(waarde_van(toml, instelling) or "")
            if not listen.startswith("0.0.0.0:") or int(listen.rpartition(":")[2]) != poorten.get(naam):
                p.append(f"Deployment: {instelling} {listen!r} is not 0.0.0.0 on container port {naam}")
        if leaves and urlsplit(str(waarde_van(toml, "nats.url") or "")).hostname not in {
            "127.0.0.1",
            "localhost",
        }:
            p.append("Deployment: nats.url is not the leaf node sidecar on loopback")
    svc = _een(docs, "Service")
    selector = svc["spec"].get("selector") or {}
    if not _bevat(pod_labels, selector):
        p.append("Service: selector does not select the Deployment's pods")
    if _bevat(job_labels, selector):
        p.append("Service: selector also selects the migration Job's pods")
    for sp in svc["spec"].get("ports") or []:
        if sp.get("targetPort", sp.get("port")) not in poorten:
            p.append(f"Service: targetPort {sp.get('targetPort')} is not a container port")
    np_ = _een(docs, "NetworkPolicy")
    if not _bevat(pod_labels, np_["spec"].get("podSelector", {}).get("matchLabels") or {}):
        p.append("NetworkPolicy: podSelector does not select the Deployment's pods")
    if "Ingress" not in (np_["spec"].get("policyTypes") or []):
        p.append("NetworkPolicy: policyTypes lacks Ingress")
    regels = np_["spec"].get("ingress") or []
    toegestaan = {pt.get("port") for r in regels for pt in r.get("ports") or []}
    if not regels or any(not r.get("ports") for r in regels):
        p.append("NetworkPolicy: every ingress rule must name ports")
    if {poorten.get(x) for x in toegestaan} != {poorten.get("grpc"), beheer} or None in {
        poorten.get(x) for x in toegestaan
    }:
        p.append(
            "NetworkPolicy: ingress must be the gRPC and beheer ports only, "
            f"not {sorted(map(str, toegestaan))}"
        )
    for r in regels:
        if beheer in {poorten.get(pt.get("port")) for pt in r.get("ports") or []}:
            bronnen = r.get("from") or []
            if not bronnen or any(not (b.get("namespaceSelector") or {}).get("matchLabels") for b in bronnen):
                p.append(
                    "NetworkPolicy: the beheer port must be admitted only from a labelled "
                    "(monitoring) namespace"
                )
    return p


def pod_env(c: Mapping[str, Any], index: Mapping[tuple[str, str], Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
        for soort, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            ref = (e.get("valueFrom") or {}).get(soort)
            if ref is not None:
                env[e["name"]] = bestanden(index[(kind, ref["name"])])[ref["key"]].decode()
    return env


def pod_volumes_hier(
    spec: Mapping[str, Any],
    c: Mapping[str, Any],
    index: Mapping[tuple[str, str], Any],
    map_: Path,
    extern: Mapping[str, Mapping[str, bytes]] | None = None,
) -> list[Mount]:
    """Writes what the container would find at each volumeMount (placeholders included);
    ``extern``: the content of the Secrets created by hand (else empty files)."""
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    mounts: list[Mount] = []
    for vm in c.get("volumeMounts") or []:
        v = volumes[vm["name"]]
        doel = map_ / vm["name"]
        doel.mkdir(parents=True, exist_ok=True)
        bron = _volume_bron(v)
        if bron is not None:
            items = (v.get("configMap") or v.get("secret") or {}).get("items")
            doc = index.get(bron)
            inhoud = bestanden(doc) if doc is not None else {i["key"]: b"" for i in items or []}
            if doc is None and extern is not None and bron[1] in extern:
                inhoud = dict(extern[bron[1]])
            for item in items or [{"key": k, "path": k} for k in inhoud]:
                (doel / item["path"]).parent.mkdir(parents=True, exist_ok=True)
                (doel / item["path"]).write_bytes(inhoud[item["key"]])
        mounts.append(Mount(PurePosixPath(vm["mountPath"]), doel))
    return mounts


def laad_pod(
    docs: list[dict[str, Any]],
    kind: str,
    tmp: Path,
    env_extra: Mapping[str, str] | None = None,
    extern: Mapping[str, Mapping[str, bytes]] | None = None,
) -> tuple[NodeConfig | None, list[Mount], list[str]]:
    index = _index(docs)
    spec = _een(docs, kind)["spec"]["template"]["spec"]
    c = spec["containers"][0]
    mounts = pod_volumes_hier(spec, c, index, tmp / "volumes", extern)
    cmd = c["command"]
    gevonden = op_mount(PurePosixPath(cmd[cmd.index("--config") + 1]), mounts)
    assert gevonden is not None, "the configuration is not mounted"
    config = op_deze_machine(*gevonden, tmp)
    nodig = PADEN if kind == "Deployment" else LAAD_PADEN
    cfg, _, problemen = laad_in_container(
        config, {**pod_env(c, index), **(env_extra or {})}, mounts, tmp, nodig
    )
    return cfg, mounts, problemen


# ── systemd ───────────────────────────────────────────────────────────────────────────────────


def lees_unit(tekst: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(tekst)
    return cp


VERHARDING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "RestrictSUIDSGID": "yes",
}


def _gemeenschappelijk(naam: str, s: Mapping[str, str], data: str = "/var/lib/zvh/%i") -> list[str]:
    p = [f"{naam}: {k} must be {v}" for k, v in VERHARDING.items() if s.get(k) != v]
    gebruiker = s.get("User")
    if not (gebruiker or s.get("DynamicUser") == "yes") or gebruiker in {"root", "0"}:
        p.append(f"{naam}: needs a dedicated User or DynamicUser=yes")
    if data not in s.get("ReadWritePaths", "").split():
        p.append(f"{naam}: ReadWritePaths must hold the data dir {data}")
    if s.get("CapabilityBoundingSet", None) != "":
        p.append(f"{naam}: CapabilityBoundingSet must be empty")
    return p


def controleer_node_unit(tekst: str) -> list[str]:
    cp = lees_unit(tekst)
    if not cp.has_section("Service"):
        return ["zvh-node@.service: no [Service]"]
    s = cp["Service"]
    p = _gemeenschappelijk("zvh-node@.service", s)
    argv = shlex.split(s.get("ExecStart", ""))
    if not argv or PurePosixPath(argv[0]).name != "zvh-node" or "zvh-node" not in SCRIPTS:
        p.append("zvh-node@.service: ExecStart must run zvh-node")
    if "--config" not in argv or argv[argv.index("--config") + 1 :][:1] != ["/etc/zvh/%i.toml"]:
        p.append("zvh-node@.service: ExecStart must pass --config /etc/zvh/%i.toml")
    for sleutel in ("ExecStartPre", "ExecStartPost", "ExecStart", "ExecReload"):
        if re.search(r"\bdb\s+upgrade\b|\bzvhctl\b", s.get(sleutel, "")):
            p.append(f"zvh-node@.service: {sleutel} migrates silently; migrations are an explicit step")
    if cp.has_section("Unit"):
        for sleutel in ("Requires", "Wants", "BindsTo", "Requisite", "Upholds"):
            if "zvh-migrate" in cp["Unit"].get(sleutel, ""):
                p.append(f"zvh-node@.service: {sleutel} pulls in the migration")
    if s.get("Restart") != "on-failure":
        p.append("zvh-node@.service: Restart must be on-failure")
    if s.get("KillSignal", "SIGTERM") != "SIGTERM":
        p.append("zvh-node@.service: the node stops gracefully on SIGTERM")
    if seconden(s.get("TimeoutStopSec", "90s")) <= STOPBUDGET:
        p.append(f"zvh-node@.service: TimeoutStopSec must exceed {STOPBUDGET:.0f}s (grace + NATS drain)")
    unit = cp["Unit"] if cp.has_section("Unit") else {}
    if LEAF_UNIT not in unit.get("Requires", "").split() or LEAF_UNIT not in unit.get("After", "").split():
        p.append(f"zvh-node@.service: must have Requires= and After= {LEAF_UNIT} (its leaf node)")
    if s.get("EnvironmentFile"):
        p.append("zvh-node@.service: secrets come as credentials (LoadCredential=), not an EnvironmentFile")
    return p


LEAF_UNIT = "zvh-leaf@%i.service"


def meervoudig(tekst: str, sleutel: str) -> list[str]:
    """Every value of a key that may repeat (configparser keeps only the last)."""
    return [m.strip() for m in re.findall(rf"^{sleutel}=(.*)$", tekst, re.M)]


def credentials(tekst: str) -> dict[str, str]:
    """LoadCredential=ID:PATH of a unit."""
    return dict(w.split(":", 1) for w in meervoudig(tekst, "LoadCredential"))


def unit_env(tekst: str) -> dict[str, str]:
    return dict(x.split("=", 1) for w in meervoudig(tekst, "Environment") for x in shlex.split(w))


def controleer_leaf_unit(tekst: str) -> list[str]:
    cp = lees_unit(tekst)
    if not cp.has_section("Service"):
        return ["zvh-leaf@.service: no [Service]"]
    s = cp["Service"]
    p = _gemeenschappelijk("zvh-leaf@.service", s, "/var/lib/zvh-leaf/%i")
    argv = shlex.split(s.get("ExecStart", ""))
    cred = credentials(tekst)
    if not argv or [PurePosixPath(argv[0]).name, *argv[1:2]] != ["nats-server", "--config"]:
        p.append("zvh-leaf@.service: ExecStart must be nats-server --config …")
    elif argv[2:] != ["%d/leaf.conf"] or "leaf.conf" not in cred:
        p.append(
            "zvh-leaf@.service: leaf.conf holds passwords: "
            "LoadCredential=leaf.conf:… and --config %d/leaf.conf"
        )
    if s.get("User") == "zvh":
        p.append("zvh-leaf@.service: runs as its own user, not the node's (zvh)")
    if s.get("Restart") != "on-failure":
        p.append("zvh-leaf@.service: Restart must be on-failure")
    if s.get("StateDirectory") != "zvh-leaf/%i":
        p.append("zvh-leaf@.service: StateDirectory must be zvh-leaf/%i (the leaf's JetStream)")
    return p


def controleer_migrate_unit(tekst: str) -> list[str]:
    cp = lees_unit(tekst)
    if not cp.has_section("Service"):
        return ["zvh-migrate@.service: no [Service]"]
    s = cp["Service"]
    p = _gemeenschappelijk("zvh-migrate@.service", s)
    if s.get("Type") != "oneshot":
        p.append("zvh-migrate@.service: Type must be oneshot")
    argv = shlex.split(s.get("ExecStart", ""))
    if [PurePosixPath(argv[0]).name, *argv[1:]] != [
        "zvhctl",
        "--config",
        "/etc/zvh/%i.toml",
        "db",
        "upgrade",
    ]:
        p.append("zvh-migrate@.service: ExecStart must be zvhctl --config /etc/zvh/%i.toml db upgrade")
    if cp.has_section("Install") and cp["Install"].get("WantedBy"):
        p.append("zvh-migrate@.service: must not be enabled to run by itself (WantedBy)")
    if s.get("EnvironmentFile"):
        p.append(
            "zvh-migrate@.service: secrets come as credentials (LoadCredential=), not an EnvironmentFile"
        )
    return p


def lees_env_bestand(tekst: str) -> dict[str, str]:
    env = {}
    for regel in tekst.splitlines():
        if regel.strip() and not regel.lstrip().startswith("#"):
            naam, _, waarde = regel.partition("=")
            env[naam.strip()] = waarde.strip()
    return env


# ══ tests ═════════════════════════════════════════════════════════════════════════════════════


def test_the_settings_are_read_from_the_code_and_an_invented_one_is_caught() -> None:
    assert {"regio", "database.url", "nats.gebruiker", "nats.wachtwoord", "federatie.beheerder_sleutel"} <= (
        INSTELLINGEN
    )
    assert "verwerkingsactiviteiten" in VRIJE_TABELLEN
    doc = {"nats": {"url": "x", "wachtwoord_bestand": "/run/secrets/nats", "creds": "/x"}}
    assert [i for i in instellingen_in(doc) if i not in INSTELLINGEN] == ["nats.creds"]
    assert {"nats.hub_domein", "nats.ca", "nats.cert", "nats.key", "beheer.listen"} <= INSTELLINGEN
    assert env_instelling("ZVH_NATS__WACHTWOORD") == "nats.wachtwoord"
    assert env_instelling("ZVH_NATS__WACHTWORD") not in INSTELLINGEN
    assert STOPBUDGET >= 30


def test_every_yaml_file_in_deploy_parses() -> None:
    paden = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert COMPOSE in paden and len(paden) >= 8
    for pad in paden:
        docs = [d for d in yaml.safe_load_all(pad.read_text()) if d is not None]
        assert docs, pad
        assert all(isinstance(d, dict) for d in docs), pad


# ── compose ──


def compose_env(c: Ceremonie, **extra: str) -> dict[str, str]:
    return {"FEDERATIE_MAP": str(c.map), "BEHEERDER_SLEUTEL": c.beheerder, **extra}


EIGEN_WACHTWOORDEN = {f"DB_WACHTWOORD_{r.upper()}": f"eigen-db-{r}" for r in REGIOS}


def test_compose_has_the_three_regions_the_hub_cluster_and_a_leaf_per_region() -> None:
    assert REGIOS == sorted(genereer.REGIOS) == ["arnhem", "haaglanden", "wvv"]
    diensten = compose_ruw()["services"]
    assert {n for n in diensten if n.startswith("node-")} == {f"node-{r}" for r in REGIOS}
    nats = {n for n, d in diensten.items() if str(d.get("image", "")).startswith("nats:")}
    hubs = {genereer.hub_host(n) for n in range(1, genereer.HUB_SERVERS + 1)}
    assert hubs == {"nats-hub-1", "nats-hub-2", "nats-hub-3"}
    assert nats == hubs | {genereer.leaf_host(r) for r in REGIOS}
    # No NATS password is a compose variable any more: they are in the generated files.
    assert "NATS_WACHTWOORD" not in COMPOSE.read_text()


@pytest.mark.parametrize("wachtwoorden", [{}, EIGEN_WACHTWOORDEN], ids=["dev-placeholders", "own-passwords"])
def test_compose_federation_is_consistent(
    ceremonie: Ceremonie, tmp_path: Path, wachtwoorden: dict[str, str]
) -> None:
    doc = compose_doc(compose_env(ceremonie, **wachtwoorden))
    expose = expose_poort(DOCKERFILE.read_text())
    problemen = controleer_compose(doc, DEPLOY) + controleer_hub_cluster(doc, DEPLOY)
    for r in REGIOS:
        problemen += controleer_regio(doc, r, DEPLOY)
        problemen += controleer_regio_config(doc, r, DEPLOY, tmp_path, expose)
    assert problemen == []
    if wachtwoorden:
        assert doc["services"]["node-wvv"]["environment"]["PGPASSWORD"] == "eigen-db-wvv"


def test_compose_needs_the_ceremony_output_and_fails_closed_without_the_beheerder_key(
    ceremonie: Ceremonie, tmp_path: Path
) -> None:
    with pytest.raises(OntbrekendeVariabele, match="FEDERATIE_MAP"):
        compose_doc({})
    doc = compose_doc({"FEDERATIE_MAP": str(ceremonie.map)})
    problemen = controleer_regio_config(doc, "wvv", DEPLOY, tmp_path, 50051)
    assert any("federatie.beheerder_sleutel" in x for x in problemen), problemen


def _d(doc: dict[str, Any], naam: str) -> dict[str, Any]:
    dienst: dict[str, Any] = doc["services"][naam]
    return dienst


def _mount(doc: dict[str, Any], dienst: str, doel: str) -> dict[str, Any]:
    return next(v for v in _d(doc, dienst)["volumes"] if isinstance(v, dict) and v["target"] == doel)


Mutatie = Callable[[dict[str, Any], Path], None]

COMPOSE_BREUKEN: list[tuple[str, Mutatie, str]] = [
    (
        "node-wvv-does-not-wait-for-migration",
        lambda d, _: _d(d, "node-wvv")["depends_on"].pop("migrate-wvv"),
        "node-wvv must depend on migrate-wvv",
    ),
    (
        "node-waits-only-for-migration-start",
        lambda d, _: _d(d, "node-wvv")["depends_on"]["migrate-wvv"].update(condition="service_started"),
        "service_completed_successfully",
    ),
    (
        "migration-does-not-wait-for-healthy-postgres",
        lambda d, _: _d(d, "migrate-arnhem")["depends_on"]["postgres-arnhem"].update(
            condition="service_started"
        ),
        "migrate-arnhem must depend on postgres-arnhem with condition service_healthy",
    ),
    (
        "depends-on-unknown-service",
        lambda d, _: _d(d, "node-wvv")["depends_on"].update(redis={"condition": "service_started"}),
        "depends on redis, which is not a service",
    ),
    (
        "postgres-without-healthcheck",
        lambda d, _: _d(d, "postgres-wvv").pop("healthcheck"),
        "postgres-wvv has no healthcheck",
    ),
    (
        "migration-restarts",
        lambda d, _: _d(d, "migrate-wvv").update(restart="on-failure"),
        "but migrate-wvv restarts",
    ),
    (
        "duplicate-host-port",
        lambda d, _: _d(d, "node-arnhem").update(ports=["127.0.0.1:50051:50051"]),
        "host port 50051 is also published",
    ),
    (
        "missing-config-file",
        lambda d, _: _mount(d, "node-wvv", "/etc/zvh/regio.toml").update(source="./regios/utrecht.toml"),
        "utrecht.toml (for /etc/zvh/regio.toml) does not exist",
    ),
    (
        "region-mounts-another-regions-config",
        lambda d, _: _mount(d, "node-arnhem", "/etc/zvh/regio.toml").update(source="./regios/wvv.toml"),
        "node-arnhem: --config /etc/zvh/regio.toml is not a mount of deploy/regios/arnhem.toml",
    ),
    (
        "missing-ceremony-keys",
        lambda d, _: _mount(d, "node-wvv", "/etc/zvh/sleutels").update(
            source=str(Path(_mount(d, "node-wvv", "/etc/zvh/sleutels")["source"]).parent / "utrecht")
        ),
        "sleutels/utrecht (for /etc/zvh/sleutels) does not exist",
    ),
    (
        "service-without-image",
        lambda d, _: _d(d, "nats-hub-1").pop("image"),
        "nats-hub-1: neither image nor build",
    ),
    (
        "node-does-not-wait-for-its-leaf",
        lambda d, _: _d(d, "node-arnhem")["depends_on"].pop("leaf-arnhem"),
        "node-arnhem must depend on leaf-arnhem",
    ),
    (
        "node-does-not-wait-for-the-hub-streams",
        lambda d, _: _d(d, "node-wvv")["depends_on"].pop(STROMEN),
        "node-wvv must wait for nats-stromen",
    ),
    (
        "region-without-leaf",
        lambda d, _: d["services"].pop("leaf-haaglanden"),
        "region haaglanden: no service leaf-haaglanden",
    ),
    (
        "node-healthcheck-on-grpc",
        lambda d, _: _d(d, "node-wvv")["healthcheck"].update(test=["CMD", "true"]),
        "node-wvv: its healthcheck is not the Dockerfile's HEALTHCHECK",
    ),
    ("undeclared-volume", lambda d, _: d["volumes"].pop("zvh-wvv"), "volume zvh-wvv is not declared"),
    (
        "unknown-console-script",
        lambda d, _: _d(d, "migrate-wvv").update(command=["zvhctl-oud", "--config", "/etc/zvh/regio.toml"]),
        "migrate-wvv: command must be",
    ),
    (
        "short-stop-grace",
        lambda d, _: _d(d, "node-haaglanden").update(stop_grace_period="10s"),
        "node-haaglanden: stop_grace_period must exceed",
    ),
]


@pytest.mark.parametrize(
    ("breuk", "verwacht"), [(b, v) for _, b, v in COMPOSE_BREUKEN], ids=[n for n, _, _ in COMPOSE_BREUKEN]
)
def test_compose_checker_rejects_a_broken_copy(
    ceremonie: Ceremonie, tmp_path: Path, breuk: Mutatie, verwacht: str
) -> None:
    doc = compose_doc(compose_env(ceremonie))
    assert (
        controleer_compose(doc, DEPLOY) + [x for r in REGIOS for x in controleer_regio(doc, r, DEPLOY)] == []
    )
    breuk(doc, tmp_path)
    problemen = controleer_compose(doc, DEPLOY) + [
        x for r in REGIOS for x in controleer_regio(doc, r, DEPLOY)
    ]
    assert any(verwacht in x for x in problemen), problemen


def _eigen_toml(d: dict[str, Any], tmp: Path, regio: str, oud: str, nieuw: str) -> None:
    tekst = (DEPLOY / "regios" / f"{regio}.toml").read_text()
    assert oud in tekst
    (tmp / f"{regio}.toml").write_text(tekst.replace(oud, nieuw))
    for dienst in (f"node-{regio}", f"migrate-{regio}"):
        _mount(d, dienst, "/etc/zvh/regio.toml").update(source=str(tmp / f"{regio}.toml"))


CONFIG_BREUKEN: list[tuple[str, Mutatie, str]] = [
    (
        "nats-password-of-another-region",
        lambda d, _: _mount(d, "node-wvv", "/etc/zvh/geheim/nats-wachtwoord").update(
            source=_mount(d, "node-wvv", "/etc/zvh/geheim/nats-wachtwoord")["source"].replace(
                "/wvv/", "/arnhem/"
            )
        ),
        "nats.wachtwoord differs from the leaf's password for 'node'",
    ),
    (
        "nats-password-file-not-mounted",
        lambda d, _: _d(d, "node-wvv").update(
            volumes=[v for v in _d(d, "node-wvv")["volumes"] if "nats-wachtwoord" not in str(v)]
        ),
        "nats.wachtwoord_bestand = /etc/zvh/geheim/nats-wachtwoord is on no mount",
    ),
    (
        "nats-user-of-the-hub",
        lambda d, _: _d(d, "node-wvv")["environment"].update(ZVH_NATS__GEBRUIKER="wvv"),
        "nats.gebruiker is 'wvv', not the leaf's 'node'",
    ),
    (
        "node-key-not-mounted-for-the-migration",
        lambda d, _: _d(d, "migrate-wvv").update(
            volumes=[v for v in _d(d, "migrate-wvv")["volumes"] if v["target"] != "/etc/zvh/tls/node.key"]
        ),
        "migrate-wvv: wvv.toml: tls.key = /etc/zvh/tls/node.key is on no mount",
    ),
    (
        "no-hub-domain",
        lambda d, t: _eigen_toml(d, t, "wvv", 'hub_domein = "hub"\n', ""),
        "nats.hub_domein must be 'hub'",
    ),
    (
        "nats-without-tls",
        lambda d, t: _eigen_toml(d, t, "wvv", '"tls://leaf-wvv:4222"', '"nats://leaf-wvv:4222"'),
        "NATS must be tls://",
    ),
    (
        "grpc-without-client-certificates",
        lambda d, t: _eigen_toml(d, t, "wvv", 'client_ca = "/etc/zvh/tls/ca.crt"\n', ""),
        "gRPC must be mutual TLS",
    ),
    (
        "beheer-on-loopback",
        lambda d, t: _eigen_toml(d, t, "wvv", "0.0.0.0:9464", "127.0.0.1:9464"),
        "beheer.listen '127.0.0.1:9464' is not reachable in a container",
    ),
    (
        "beheer-on-another-port",
        lambda d, t: _eigen_toml(d, t, "wvv", "0.0.0.0:9464", "0.0.0.0:9465"),
        "does not ask /readyz on beheer.listen's port 9465",
    ),
    (
        "misspelt-override",
        lambda d, _: _d(d, "node-wvv")["environment"].update(ZVH_NATS__WACHTWORD="x"),
        "ZVH_NATS__WACHTWORD is not a setting",
    ),
    (
        "db-password-differs",
        lambda d, _: _d(d, "migrate-wvv")["environment"].update(PGPASSWORD="x"),
        "migrate-wvv: PGPASSWORD is not postgres-wvv's POSTGRES_PASSWORD",
    ),
    (
        "migration-without-keys",
        lambda d, _: _d(d, "migrate-wvv").update(
            volumes=[v for v in _d(d, "migrate-wvv")["volumes"] if v["target"] != "/etc/zvh/sleutels"]
        ),
        "migrate-wvv: wvv.toml: federatie.sleutels = /etc/zvh/sleutels is on no mount",
    ),
    (
        "invented-setting",
        lambda d, t: _eigen_toml(d, t, "wvv", 'hub_domein = "hub"', 'hub_domein = "hub"\ncreds = "/run/x"'),
        "nats.creds is not a setting",
    ),
    (
        "listens-on-loopback",
        lambda d, t: _eigen_toml(d, t, "wvv", "0.0.0.0:50051", "127.0.0.1:50051"),
        "is loopback in a container",
    ),
    (
        "listens-on-another-port",
        lambda d, t: _eigen_toml(d, t, "wvv", "0.0.0.0:50051", "0.0.0.0:50052"),
        "listens on 50052",
    ),
    (
        "database-of-another-region",
        lambda d, t: _eigen_toml(d, t, "wvv", "@postgres-wvv:", "@postgres-arnhem:"),
        "points at postgres-arnhem, not postgres-wvv",
    ),
    (
        "wrong-region-code",
        lambda d, t: _eigen_toml(d, t, "wvv", 'regio = "wvv"', 'regio = "arnhem"'),
        "regio is arnhem, not wvv",
    ),
    (
        "data-dir-not-on-a-volume",
        lambda d, t: _eigen_toml(d, t, "wvv", 'data_dir = "/var/lib/zvh"', 'data_dir = "/srv/zvh"'),
        "data_dir = /srv/zvh is on no mount",
    ),
    (
        "another-regions-leaf",
        lambda d, t: _eigen_toml(d, t, "wvv", "tls://leaf-wvv:4222", "tls://leaf-arnhem:4222"),
        "does not point at its own leaf node leaf-wvv",
    ),
    (
        "leaf-on-another-port",
        lambda d, t: _eigen_toml(d, t, "wvv", "tls://leaf-wvv:4222", "tls://leaf-wvv:4223"),
        "nats.url port is not the leaf node's client port",
    ),
]


@pytest.mark.parametrize(
    ("breuk", "verwacht"), [(b, v) for _, b, v in CONFIG_BREUKEN], ids=[n for n, _, _ in CONFIG_BREUKEN]
)
def test_region_config_checker_rejects_a_broken_copy(
    ceremonie: Ceremonie, tmp_path: Path, breuk: Mutatie, verwacht: str
) -> None:
    doc = compose_doc(compose_env(ceremonie))
    (tmp_path / "leeg").mkdir()
    assert controleer_regio_config(doc, "wvv", DEPLOY, tmp_path / "leeg", 50051) == []
    breuk(doc, tmp_path)
    problemen = controleer_regio_config(doc, "wvv", DEPLOY, tmp_path / "leeg", 50051)
    assert any(verwacht in x for x in problemen), problemen


# ── the NATS hub cluster and the leaf nodes ──


def test_hub_cluster_and_leaves_are_consistent(ceremonie: Ceremonie) -> None:
    doc = compose_doc(compose_env(ceremonie))
    assert controleer_hub_cluster(doc, DEPLOY) == []
    hubs = hub_diensten(doc)
    assert sorted(hubs) == ["nats-hub-1", "nats-hub-2", "nats-hub-3"]
    # each route names the other two servers; the cluster's servers are distinct
    for naam, d in hubs.items():
        conf = config_bron(d, DEPLOY)
        assert conf is not None
        assert {h for h, _ in nats_urls(nats_blok(conf.read_text(), "cluster"))} == set(hubs) - {naam}


HubMutatie = Callable[[dict[str, Any]], None]

HUB_BREUKEN: list[tuple[str, HubMutatie, str]] = [
    ("two-hub-servers", lambda d: d["services"].pop("nats-hub-3"), "odd number of at least 3"),
    (
        "hub-mounts-another-servers-config",
        lambda d: _mount(d, "nats-hub-2", "/etc/nats/hub.conf").update(
            source=_mount(d, "nats-hub-1", "/etc/nats/hub.conf")["source"]
        ),
        "server_name values are not distinct",
    ),
    (
        "hub-certificate-not-mounted",
        lambda d: _d(d, "nats-hub-1").update(
            volumes=[v for v in _d(d, "nats-hub-1")["volumes"] if "hub-1.key" not in str(v)]
        ),
        "nats-hub-1: /etc/nats/certs/hub/hub-1.key (named in hub-1.conf) is not a mounted file",
    ),
    (
        "leaf-jetstream-not-on-a-volume",
        lambda d: _d(d, "leaf-wvv").update(
            volumes=[v for v in _d(d, "leaf-wvv")["volumes"] if "jetstream" not in str(v)]
        ),
        "leaf-wvv: JetStream store_dir /data/jetstream/wvv is not on a named volume",
    ),
    (
        "hub-healthcheck-on-another-port",
        lambda d: _d(d, "nats-hub-3").update(
            healthcheck={"test": ["CMD", "wget", "-q", "http://127.0.0.1:8223/healthz"]}
        ),
        "nats-hub-3: the healthcheck does not ask /healthz on the monitoring port 8222",
    ),
    (
        "streams-before-quorum",
        lambda d: _d(d, STROMEN)["depends_on"]["nats-hub-2"].update(condition="service_started"),
        "must wait for nats-hub-2 to be healthy",
    ),
    (
        "streams-on-a-leaf",
        lambda d: _d(d, STROMEN)["command"].__setitem__(
            _d(d, STROMEN)["command"].index("tls://nats-hub-1:4222"), "tls://leaf-wvv:4222"
        ),
        "is not a hub server's client port over TLS",
    ),
    (
        "streams-with-one-replica",
        lambda d: _d(d, STROMEN)["command"].__setitem__(-1, "1"),
        "--replicas must be 3",
    ),
    (
        "streams-without-the-beheer-password",
        lambda d: _d(d, STROMEN).update(
            volumes=[v for v in _d(d, STROMEN)["volumes"] if "credentials" not in str(v)]
        ),
        "--uit /etc/zvh/nats/hub/credentials.toml is not a mounted file",
    ),
]


@pytest.mark.parametrize(
    ("breuk", "verwacht"), [(b, v) for _, b, v in HUB_BREUKEN], ids=[n for n, _, _ in HUB_BREUKEN]
)
def test_hub_cluster_checker_rejects_a_broken_copy(
    ceremonie: Ceremonie, breuk: HubMutatie, verwacht: str
) -> None:
    doc = compose_doc(compose_env(ceremonie))
    breuk(doc)
    problemen = controleer_hub_cluster(doc, DEPLOY)
    assert any(verwacht in x for x in problemen), problemen


def _op_deze_machine(conf: Path, certs: Path, data: Path) -> Path:
    """A generated config with the container paths of its certificates and JetStream moved here."""
    uit = data / conf.name
    uit.write_text(
        conf.read_text().replace(genereer.CERTS_DOEL, str(certs)).replace(genereer.JETSTREAM, str(data))
    )
    return uit


def test_generated_nats_configs_are_valid_for_nats_server(ceremonie: Ceremonie, tmp_path: Path) -> None:
    natsmap, certs = ceremonie.map / "nats", ceremonie.map / "certs"
    confs = [*sorted((natsmap / "hub").glob("hub-*.conf")), *(natsmap / r / "leaf.conf" for r in REGIOS)]
    assert len(confs) == 6
    for conf in confs:
        ok = subprocess.run(
            [nats_server(), "-t", "-c", str(_op_deze_machine(conf, certs, tmp_path))],
            capture_output=True,
            timeout=20,
        )
        assert ok.returncode == 0, (conf, ok.stderr.decode())
    # the same check refuses a config whose certificate is not there
    kapot = tmp_path / "kapot.conf"
    kapot.write_text(confs[0].read_text().replace(genereer.JETSTREAM, str(tmp_path)))
    assert (
        subprocess.run([nats_server(), "-t", "-c", str(kapot)], capture_output=True, timeout=20).returncode
        != 0
    )


def test_genereer_writes_the_password_files_and_certificates_for_the_compose_hosts(
    ceremonie: Ceremonie,
) -> None:
    natsmap, certs = ceremonie.map / "nats", ceremonie.map / "certs"
    for r in REGIOS:
        wachtwoord = natsmap / r / genereer.WACHTWOORD_BESTAND
        assert wachtwoord.stat().st_mode & 0o077 == 0
        assert (
            wachtwoord.read_text().strip()
            == tomllib.loads((natsmap / r / "credentials.toml").read_text())["node_wachtwoord"]
        )
        assert (
            nats_wachtwoord((natsmap / r / "leaf.conf").read_text(), NODE_GEBRUIKER)
            == wachtwoord.read_text().strip()
        )
        assert genereer.leaf_host(r) in certificaatnamen(certs / r / "leaf.crt")  # the node checks it
        assert (certs / r / "node.key").stat().st_mode & 0o077 == 0
    for n in range(1, genereer.HUB_SERVERS + 1):
        assert genereer.hub_host(n) in certificaatnamen(certs / "hub" / f"hub-{n}.crt")
    # Again: nothing changes (the CA, the certificates and the passwords are kept).
    voor = {p: p.read_bytes() for p in ceremonie.map.rglob("*") if p.is_file()}
    with contextlib.redirect_stdout(io.StringIO()):
        assert genereer.main(["--map", str(ceremonie.map), "--beheerder", ceremonie.beheerder]) == 0
    assert {p: p.read_bytes() for p in ceremonie.map.rglob("*") if p.is_file()} == voor


def test_genereer_refuses_a_map_without_a_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        genereer.main(["--map", str(tmp_path), "--beheerder", "ab" * 32])
    assert "run the key ceremony first" in capsys.readouterr().err


# ── Dockerfile ──


def test_dockerfile_is_consistent() -> None:
    assert controleer_dockerfile(DOCKERFILE.read_text(), ROOT) == []
    build = compose_ruw()["x-zvh-image"]["build"]
    assert (bron_pad(build["context"], DEPLOY) / build["dockerfile"]).resolve() == DOCKERFILE


DOCKERFILE_BREUKEN = [
    ("unknown-console-script", 'CMD ["zvh-node"', 'CMD ["zvh-knoop"', "not a console script"),
    ("runs-as-root", "USER 10001:10001", "USER root", "non-root USER"),
    ("package-not-copied", "COPY services ./services\n", "", "missing ['services']"),
    ("copies-what-is-not-there", "COPY services ./services", "COPY diensten ./diensten", "COPY diensten"),
    (
        "healthcheck-on-another-port",
        "EXPOSE 50051 9464",
        "EXPOSE 50051 8080",
        "does not ask the EXPOSEd beheer port 8080",
    ),
    ("healthcheck-on-grpc", "/readyz", "/grpc", "does not ask http://127.0.0.1:PORT/readyz"),
    ("other-base", "FROM python:3.11-slim AS bouw", "FROM python:3.12-slim AS bouw", "python:3.11-slim"),
    ("not-pip-install-dot", "pip install .", "pip install zvh-federatie", "pip install ."),
    ("shell-form-cmd", 'CMD ["zvh-node", "--config", "/etc/zvh/regio.toml"]', "CMD zvh-node", "exec form"),
]


@pytest.mark.parametrize(
    ("oud", "nieuw", "verwacht"), [b[1:] for b in DOCKERFILE_BREUKEN], ids=[b[0] for b in DOCKERFILE_BREUKEN]
)
def test_dockerfile_checker_rejects_a_broken_copy(oud: str, nieuw: str, verwacht: str) -> None:
    tekst = DOCKERFILE.read_text()
    assert oud in tekst
    problemen = controleer_dockerfile(tekst.replace(oud, nieuw), ROOT)
    assert any(verwacht in x for x in problemen), problemen


def test_docker_healthcheck_command_asks_the_nodes_readyz() -> None:
    """The HEALTHCHECK against the node's real admin endpoint (gedeeld/beheer/eindpunt.py)."""
    argv = healthcheck_argv(DOCKERFILE.read_text())
    poort = expose_poorten(DOCKERFILE.read_text())[-1]
    gereed = threading.Event()
    lus = asyncio.new_event_loop()
    draad = threading.Thread(target=lus.run_forever, daemon=True)
    draad.start()

    async def status() -> dict[str, object]:
        return {}

    server = BeheerServer("127.0.0.1:0", gereed=gereed.is_set, status=status)
    vrij = asyncio.run_coroutine_threadsafe(server.start(), lus).result(10)
    script = argv[2].replace(f"127.0.0.1:{poort}", f"127.0.0.1:{vrij}")
    assert script != argv[2]

    def check() -> int:
        return subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30).returncode

    try:
        assert check() == 1  # 503: not every service runs yet
        gereed.set()
        assert check() == 0
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), lus).result(10)
        lus.call_soon_threadsafe(lus.stop)
        draad.join(10)
        lus.close()
    assert check() != 0  # nothing listening


# ── Kubernetes ──


def test_k8s_manifests_are_consistent() -> None:
    assert controleer_k8s(k8s_docs()) == []


def _container(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    c: dict[str, Any] = _een(docs, kind)["spec"]["template"]["spec"]["containers"][0]
    return c


K8sMutatie = Callable[[list[dict[str, Any]]], None]

K8S_BREUKEN: list[tuple[str, K8sMutatie, str]] = [
    (
        "service-targets-unknown-port",
        lambda d: _een(d, "Service")["spec"]["ports"][0].update(targetPort="http"),
        "targetPort http is not a container port",
    ),
    (
        "probe-on-another-port",
        lambda d: _container(d, "Deployment")["readinessProbe"]["httpGet"].update(port=8080),
        "readinessProbe is not httpGet /readyz on the beheer port",
    ),
    (
        "no-liveness-probe",
        lambda d: _container(d, "Deployment").pop("livenessProbe"),
        "no livenessProbe",
    ),
    (
        "service-selects-nothing",
        lambda d: _een(d, "Service")["spec"]["selector"].update({"app.kubernetes.io/instance": "arnhem"}),
        "Service: selector does not select",
    ),
    (
        "service-selects-the-migration",
        lambda d: _een(d, "Job")["spec"]["template"]["metadata"]["labels"].update(
            {"app.kubernetes.io/component": "node"}
        ),
        "also selects the migration Job",
    ),
    (
        "deployment-selector-mismatch",
        lambda d: _een(d, "Deployment")["spec"]["selector"]["matchLabels"].update(extra="x"),
        "Deployment: selector does not match",
    ),
    (
        "no-name",
        lambda d: _een(d, "NetworkPolicy")["metadata"].pop("name"),
        "lacks apiVersion, kind or metadata",
    ),
    (
        "secret-key-missing",
        lambda d: _container(d, "Deployment")["env"][0]["valueFrom"]["secretKeyRef"].update(
            key="pg-password"
        ),
        "has no key pg-password",
    ),
    (
        "config-item-missing",
        lambda d: _een(d, "Deployment")["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"][
            0
        ].update(key="node.toml"),
        "has no key node.toml",
    ),
    (
        "networkpolicy-opens-another-port",
        lambda d: _een(d, "NetworkPolicy")["spec"]["ingress"][0]["ports"].append(
            {"protocol": "TCP", "port": 8080}
        ),
        "NetworkPolicy: ingress must be the gRPC and beheer ports only",
    ),
    (
        "networkpolicy-rule-without-ports",
        lambda d: _een(d, "NetworkPolicy")["spec"]["ingress"].append({}),
        "every ingress rule must name ports",
    ),
    (
        "writable-root",
        lambda d: _container(d, "Deployment")["securityContext"].update(readOnlyRootFilesystem=False),
        "readOnlyRootFilesystem must be true",
    ),
    ("two-replicas", lambda d: _een(d, "Deployment")["spec"].update(replicas=2), "replicas must be 1"),
    (
        "other-namespace",
        lambda d: _een(d, "Service")["metadata"].update(namespace="default"),
        "Service zvh-node is not in namespace",
    ),
    (
        "unknown-console-script",
        lambda d: _container(d, "Deployment").update(
            command=["zvh-knoop", "--config", "/etc/zvh/config/regio.toml"]
        ),
        "does not start with a console script",
    ),
    (
        "config-path-not-mounted",
        lambda d: _container(d, "Job").update(
            command=["zvhctl", "--config", "/etc/zvh/regio.toml", "db", "upgrade"]
        ),
        "--config /etc/zvh/regio.toml is not a ConfigMap item",
    ),
    (
        "invented-env-override",
        lambda d: _container(d, "Deployment")["env"].append({"name": "ZVH_NATS__CREDS", "value": "/x"}),
        "ZVH_NATS__CREDS is not a setting",
    ),
    (
        "secret-readable-by-all",
        lambda d: _een(d, "Deployment")["spec"]["template"]["spec"]["volumes"][2]["secret"].update(
            defaultMode=0o444
        ),
        "readable by others",
    ),
    (
        "liveness-on-readyz",
        lambda d: _container(d, "Deployment")["livenessProbe"]["httpGet"].update(path="/readyz"),
        "livenessProbe is not httpGet /healthz",
    ),
    (
        "beheer-port-open-to-all",
        lambda d: _een(d, "NetworkPolicy")["spec"]["ingress"][1].pop("from"),
        "the beheer port must be admitted only from a labelled (monitoring) namespace",
    ),
    (
        "scrape-annotation-on-another-port",
        lambda d: _een(d, "Deployment")["spec"]["template"]["metadata"]["annotations"].update(
            {"prometheus.io/port": "9465"}
        ),
        "prometheus.io/port 9465 is not the beheer port",
    ),
    (
        "beheer-container-port-differs-from-the-toml",
        lambda d: _container(d, "Deployment")["ports"][1].update(containerPort=9465),
        "beheer.listen '0.0.0.0:9464' is not 0.0.0.0 on container port beheer",
    ),
    (
        "no-leaf-sidecar",
        lambda d: _een(d, "Deployment")["spec"]["template"]["spec"].pop("initContainers"),
        "no leaf node sidecar",
    ),
    (
        "leaf-as-one-shot-init-container",
        lambda d: _een(d, "Deployment")["spec"]["template"]["spec"]["initContainers"][0].pop("restartPolicy"),
        "native sidecar (restartPolicy: Always)",
    ),
    (
        "leaf-config-not-a-secret",
        lambda d: _een(d, "Deployment")["spec"]["template"]["spec"]["initContainers"][0].update(
            command=["nats-server", "--config", "/etc/nats/hub.conf"]
        ),
        "Deployment/leaf: must run nats-server --config with a config that is a Secret item",
    ),
    (
        "leaf-volume-claim-missing",
        lambda d: d.remove(_een(d, "PersistentVolumeClaim")),
        "claims PersistentVolumeClaim zvh-leaf-jetstream, not in deploy/k8s",
    ),
    (
        "nats-url-not-the-sidecar",
        lambda d: _index(d)[("ConfigMap", "zvh-node-config")]["data"].update(
            {
                "regio.toml": _index(d)[("ConfigMap", "zvh-node-config")]["data"]["regio.toml"].replace(
                    "tls://127.0.0.1:4222", "tls://hub.federatie.invalid:4222"
                )
            }
        ),
        "nats.url is not the leaf node sidecar on loopback",
    ),
    (
        "job-without-the-certificates",
        lambda d: _container(d, "Job").update(
            volumeMounts=[m for m in _container(d, "Job")["volumeMounts"] if m["name"] != "tls"]
        ),
        "Job: nats.ca = /etc/zvh/tls/ca.crt is not mounted",
    ),
    (
        "password-file-not-a-secret-item",
        lambda d: _een(d, "Deployment")["spec"]["template"]["spec"]["volumes"][3]["secret"]["items"].pop(),
        "Deployment: nats.wachtwoord_bestand = /etc/zvh/geheim/nats-wachtwoord is not mounted",
    ),
    (
        "short-termination-grace",
        lambda d: _een(d, "Deployment")["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=30),
        "terminationGracePeriodSeconds must exceed",
    ),
]


@pytest.mark.parametrize(
    ("breuk", "verwacht"), [(b, v) for _, b, v in K8S_BREUKEN], ids=[n for n, _, _ in K8S_BREUKEN]
)
def test_k8s_checker_rejects_a_broken_copy(breuk: K8sMutatie, verwacht: str) -> None:
    docs = copy.deepcopy(k8s_docs())
    breuk(docs)
    problemen = controleer_k8s(docs)
    assert any(verwacht in x for x in problemen), problemen


def externe_secrets(c: Ceremonie, regio: str = "wvv") -> dict[str, dict[str, bytes]]:
    """The hand-made Secrets, from the files docs/deploy.md creates them from."""
    certs, nats = c.map / "certs", c.map / "nats" / regio
    return {
        "zvh-node-tls": {
            "ca.crt": (certs / "ca.crt").read_bytes(),
            "node.crt": (certs / regio / "node.crt").read_bytes(),
            "node.key": (certs / regio / "node.key").read_bytes(),
        },
        "zvh-leaf": {
            "leaf.conf": (nats / "leaf.conf").read_bytes(),
            "ca.crt": (certs / "ca.crt").read_bytes(),
            "leaf.crt": (certs / regio / "leaf.crt").read_bytes(),
            "leaf.key": (certs / regio / "leaf.key").read_bytes(),
        },
        "zvh-verwerkingslog": {"verwerkingslog.key": b"0" * 32},
    }


def test_k8s_configuration_fails_closed_until_the_ceremony_key_is_set(
    ceremonie: Ceremonie, tmp_path: Path
) -> None:
    cfg, _, problemen = laad_pod(k8s_docs(), "Deployment", tmp_path, extern=externe_secrets(ceremonie))
    assert cfg is None
    assert any("federatie.beheerder_sleutel" in x for x in problemen), problemen


def test_k8s_configuration_refuses_the_tls_secret_until_it_holds_certificates(tmp_path: Path) -> None:
    cfg, _, problemen = laad_pod(k8s_docs(), "Job", tmp_path, {"ZVH_FEDERATIE__BEHEERDER_SLEUTEL": "ab" * 32})
    assert cfg is None
    assert any("nats.ca" in x or "tls." in x for x in problemen), problemen


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_k8s_configuration_loads_as_the_pod_sees_it(ceremonie: Ceremonie, tmp_path: Path, kind: str) -> None:
    docs = k8s_docs()
    cfg, mounts, problemen = laad_pod(
        docs, kind, tmp_path, {"ZVH_FEDERATIE__BEHEERDER_SLEUTEL": "ab" * 32}, externe_secrets(ceremonie)
    )
    assert problemen == []
    assert cfg is not None
    regio = _een(docs, "Namespace")["metadata"]["labels"]["app.kubernetes.io/instance"]
    assert cfg.regio == regio
    assert cfg.federatie is not None
    assert cfg.federatie.register.is_file()
    assert {p.name for p in cfg.federatie.sleutels.iterdir()} == {"ondertekening.key", "hpke.key"}
    if kind == "Deployment":
        poorten = container_poorten(_container(docs, "Deployment"))
        assert int(cfg.casusregister.listen.rsplit(":", 1)[1]) == poorten["grpc"]
        assert cfg.casusregister.listen.startswith("0.0.0.0:")
        assert int(cfg.beheer_listen.rsplit(":", 1)[1]) == poorten["beheer"]
        assert cfg.nats_gebruiker == NODE_GEBRUIKER and cfg.nats.hub_domein == HUB_DOMEIN
        assert cfg.nats_wachtwoord == "dev-NIET-GEHEIM-wvv-nats"  # the file from the Secret
        assert cfg.nats.tls is not None and cfg.tls is not None and cfg.tls.client_ca is not None
        assert cfg.tokens.is_file()
        assert cfg.verwerkingslog_sleutel.is_file()  # from Secret zvh-verwerkingslog, created by hand
        assert tomllib.loads(cfg.tokens.read_text()) == {}
    assert urlsplit(cfg.database_url).password is None  # PGPASSWORD from the Secret, not in the ConfigMap
    assert all(m.bron is not None for m in mounts)


def test_k8s_leaf_sidecar_serves_the_nodes_nats_url(ceremonie: Ceremonie, tmp_path: Path) -> None:
    """The leaf.conf generated for the pod (docs/deploy.md's arguments, listening on loopback) is
    valid for nats-server with what the sidecar mounts, and serves the ConfigMap's nats.url."""
    uit = tmp_path / "nats"
    shutil.copytree(ceremonie.map / "nats", uit)  # the same passwords; only the leaf's address changes
    args = genereer.opdrachten(ceremonie.map, ceremonie.beheerder)[1]
    args[args.index("--uit") + 1] = str(uit)
    args[args.index("--leaf-luister") + 1] = "127.0.0.1"
    with contextlib.redirect_stdout(io.StringIO()):
        assert zvhctl.main(args) == 0
    docs = k8s_docs()
    index = _index(docs)
    spec = _een(docs, "Deployment")["spec"]["template"]["spec"]
    leaf = spec["initContainers"][0]
    extern = externe_secrets(ceremonie)
    extern["zvh-leaf"]["leaf.conf"] = (uit / "wvv" / "leaf.conf").read_bytes()
    mounts = pod_volumes_hier(spec, leaf, index, tmp_path / "leaf", extern)
    gevonden = op_mount(PurePosixPath(leaf["command"][2]), mounts)
    assert gevonden is not None
    conf = op_deze_machine(*gevonden, tmp_path).read_text()
    store = str(nats_store(conf))
    for pad in [*nats_bestanden(conf), store]:
        m = op_mount(PurePosixPath(pad), mounts)
        assert m is not None, f"{pad} is not mounted in the sidecar"
        hier = op_deze_machine(*m, tmp_path)
        assert pad == store or hier.is_file(), pad
        conf = conf.replace(f'"{pad}"', f'"{hier}"')
    claim = next(v for v in spec["volumes"] if "persistentVolumeClaim" in v)
    assert any(m["name"] == claim["name"] for m in leaf["volumeMounts"])
    leaf_conf = tmp_path / "leaf.conf"
    leaf_conf.write_text(conf)
    ok = subprocess.run([nats_server(), "-t", "-c", str(leaf_conf)], capture_output=True, timeout=20)
    assert ok.returncode == 0, ok.stderr.decode()
    toml = tomllib.loads(bestanden(index[("ConfigMap", "zvh-node-config")])["regio.toml"].decode())
    url = urlsplit(toml["nats"]["url"])
    assert re.search(rf'^listen: "{re.escape(str(url.hostname))}:{url.port}"$', conf, re.M), conf[:400]
    assert url.scheme == "tls" and '"verify": true' in conf  # the leaf asks for the node's certificate


# ── systemd ──


def test_systemd_units_are_consistent() -> None:
    assert controleer_node_unit((SYSTEMD / "zvh-node@.service").read_text()) == []
    assert controleer_migrate_unit((SYSTEMD / "zvh-migrate@.service").read_text()) == []
    assert controleer_leaf_unit((SYSTEMD / "zvh-leaf@.service").read_text()) == []
    assert not (SYSTEMD / "wvv.env.voorbeeld").exists()  # the secrets are credentials now


@pytest.mark.parametrize(
    ("oud", "nieuw", "verwacht"),
    [
        ("--config %d/leaf.conf", "--config /etc/zvh/nats/%i/leaf.conf", "LoadCredential=leaf.conf"),
        ("LoadCredential=leaf.conf:/etc/zvh/nats/%i/leaf.conf\n", "", "LoadCredential=leaf.conf"),
        ("ExecStart=/opt/zvh/bin/nats-server", "ExecStart=/opt/zvh/bin/zvh-node", "nats-server --config"),
        ("User=zvh-nats", "User=zvh", "its own user"),
        ("StateDirectory=zvh-leaf/%i", "StateDirectory=zvh/%i", "StateDirectory must be zvh-leaf/%i"),
        ("ReadWritePaths=/var/lib/zvh-leaf/%i", "ReadWritePaths=/var/lib", "ReadWritePaths"),
        ("ProtectSystem=strict", "ProtectSystem=full", "ProtectSystem must be strict"),
    ],
)
def test_systemd_checker_rejects_a_broken_leaf_unit(oud: str, nieuw: str, verwacht: str) -> None:
    tekst = (SYSTEMD / "zvh-leaf@.service").read_text()
    assert oud in tekst
    problemen = controleer_leaf_unit(tekst.replace(oud, nieuw, 1))
    assert any(verwacht in x for x in problemen), problemen


NODE_UNIT_BREUKEN = [
    ("no-new-privileges-missing", "NoNewPrivileges=yes\n", "", "NoNewPrivileges must be yes"),
    (
        "silent-migration",
        "ExecStart=/opt/zvh/bin/zvh-node",
        "ExecStartPre=/opt/zvh/bin/zvhctl --config /etc/zvh/%i.toml db upgrade\n"
        "ExecStart=/opt/zvh/bin/zvh-node",
        "ExecStartPre migrates silently",
    ),
    ("no-config", " --config /etc/zvh/%i.toml", "", "--config /etc/zvh/%i.toml"),
    ("other-program", "/opt/zvh/bin/zvh-node", "/opt/zvh/bin/zvh", "ExecStart must run zvh-node"),
    ("short-stop", "TimeoutStopSec=60", "TimeoutStopSec=10", "TimeoutStopSec must exceed"),
    ("protect-system-full", "ProtectSystem=strict", "ProtectSystem=full", "ProtectSystem must be strict"),
    ("pulls-in-migration", "Wants=network-online.target", "Wants=zvh-migrate@%i.service", "Wants pulls in"),
    ("no-restart", "Restart=on-failure", "Restart=no", "Restart must be on-failure"),
    ("no-data-dir", "ReadWritePaths=/var/lib/zvh/%i", "ReadWritePaths=/var/lib/zvh", "ReadWritePaths"),
    ("root", "User=zvh", "User=root", "dedicated User"),
    (
        "capabilities",
        "CapabilityBoundingSet=\n",
        "CapabilityBoundingSet=CAP_NET_ADMIN\n",
        "CapabilityBoundingSet",
    ),
    ("without-its-leaf", "Requires=zvh-leaf@%i.service\n", "", "Requires= and After= zvh-leaf@%i.service"),
    (
        "secrets-in-the-environment",
        "LoadCredential=pgpass:",
        "EnvironmentFile=/etc/zvh/%i.env\nLoadCredential=pgpass:",
        "not an EnvironmentFile",
    ),
]


@pytest.mark.parametrize(
    ("oud", "nieuw", "verwacht"), [b[1:] for b in NODE_UNIT_BREUKEN], ids=[b[0] for b in NODE_UNIT_BREUKEN]
)
def test_systemd_checker_rejects_a_broken_node_unit(oud: str, nieuw: str, verwacht: str) -> None:
    tekst = (SYSTEMD / "zvh-node@.service").read_text()
    assert oud in tekst
    problemen = controleer_node_unit(tekst.replace(oud, nieuw, 1))
    assert any(verwacht in x for x in problemen), problemen


@pytest.mark.parametrize(
    ("oud", "nieuw", "verwacht"),
    [
        ("Type=oneshot", "Type=simple", "oneshot"),
        ("db upgrade", "audit verify", "db upgrade"),
        ("PrivateTmp=yes\n", "", "PrivateTmp"),
    ],
)
def test_systemd_checker_rejects_a_broken_migrate_unit(oud: str, nieuw: str, verwacht: str) -> None:
    tekst = (SYSTEMD / "zvh-migrate@.service").read_text()
    assert oud in tekst
    assert any(verwacht in x for x in controleer_migrate_unit(tekst.replace(oud, nieuw)))
    verbonden = tekst + "\n[Install]\nWantedBy=multi-user.target\n"
    assert any("WantedBy" in x for x in controleer_migrate_unit(verbonden))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_accepts_the_units(tmp_path: Path) -> None:
    waar = shutil.which("true")
    assert waar is not None
    paden = []
    for naam in ("zvh-node", "zvh-migrate", "zvh-leaf"):
        tekst = (SYSTEMD / f"{naam}@.service").read_text()
        tekst = re.sub(
            r"^(ExecStart=)\S+", rf"\g<1>{waar}", tekst, flags=re.M
        )  # binaries are not installed here
        pad = tmp_path / f"{naam}@wvv.service"
        pad.write_text(tekst)
        paden.append(pad)
    slecht = subprocess.run(
        ["systemd-analyze", "verify", *map(str, paden)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    meldingen = [r for r in (slecht.stdout + slecht.stderr).splitlines() if "zvh-" in r]
    assert meldingen == []
    # The same check notices a key systemd does not know.
    (tmp_path / "zvh-node@wvv.service").write_text(paden[0].read_text() + "Herstart=altijd\n")
    fout = subprocess.run(
        ["systemd-analyze", "verify", str(paden[0])], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert "Herstart" in fout.stdout + fout.stderr


def _vm(c: Ceremonie, credentials_map: Path) -> list[Mount]:
    """The VM layout of docs/deploy.md, with the node's credentials directory."""
    return [
        Mount(PurePosixPath("/etc/zvh/federatie.reg"), c.map / "federatie.reg"),
        Mount(PurePosixPath("/etc/zvh/sleutels"), c.map / "sleutels"),
        Mount(PurePosixPath("/etc/zvh/certs"), c.map / "certs"),
        Mount(PurePosixPath("/run/credentials/zvh-node@wvv.service"), credentials_map),
        Mount(PurePosixPath("/var/lib/zvh"), None),
    ]


def _credentials(c: Ceremonie, map_: Path) -> Path:
    """What LoadCredential= of zvh-node@wvv.service copies, from the files docs/deploy.md names."""
    map_.mkdir(parents=True, exist_ok=True)
    bronnen = {
        "nats-wachtwoord": c.map / "nats" / "wvv" / genereer.WACHTWOORD_BESTAND,
        "node.key": c.map / "certs" / "wvv" / "node.key",
    }
    for naam in credentials((SYSTEMD / "zvh-node@.service").read_text()):
        (map_ / naam).write_bytes(
            bronnen[naam].read_bytes() if naam in bronnen else b"localhost:5432:*:*:x\n"
        )
    return map_


def test_systemd_example_configuration_loads_on_the_vm_layout(ceremonie: Ceremonie, tmp_path: Path) -> None:
    node_unit = (SYSTEMD / "zvh-node@.service").read_text()
    vm = _vm(ceremonie, _credentials(ceremonie, tmp_path / "credentials"))
    cfg, _, problemen = laad_in_container(SYSTEMD / "wvv.toml", {}, vm, tmp_path)
    assert cfg is None
    assert any("federatie.beheerder_sleutel" in x for x in problemen), problemen  # the placeholder
    cfg, ruw, problemen = laad_in_container(
        SYSTEMD / "wvv.toml", {"ZVH_FEDERATIE__BEHEERDER_SLEUTEL": ceremonie.beheerder}, vm, tmp_path
    )
    assert problemen == []
    assert cfg is not None
    assert cfg.regio == "wvv" and cfg.nats_gebruiker == NODE_GEBRUIKER and cfg.nats.hub_domein == HUB_DOMEIN
    assert cfg.beheer_listen.startswith("127.0.0.1:")  # loopback on a VM
    assert cfg.nats_wachtwoord == nats_wachtwoord(
        (ceremonie.map / "nats" / "wvv" / "leaf.conf").read_text(), NODE_GEBRUIKER
    )
    unit = lees_unit(node_unit)["Service"]
    assert ruw["data_dir"] in unit["ReadWritePaths"].replace("%i", cfg.regio).split()
    assert ruw["data_dir"] == "/var/lib/" + unit["StateDirectory"].replace("%i", cfg.regio)
    # Every credential the TOML names is one the node unit loads; the database password too.
    creds = credentials(node_unit)
    for instelling in PADEN:
        waarde = str(waarde_van(ruw, instelling) or "")
        if waarde.startswith("/run/credentials/"):
            assert PurePosixPath(waarde).name in creds, instelling
    assert unit_env(node_unit)["PGPASSFILE"] == "%d/pgpass" and "pgpass" in creds
    # The leaf the node talks to: zvh-leaf@%i, listening where nats.url points (generated default).
    assert urlsplit(cfg.nats_url).hostname == "127.0.0.1" and urlsplit(cfg.nats_url).port == 4222


def test_systemd_migration_finds_the_same_credentials_in_its_own_directory(
    ceremonie: Ceremonie, tmp_path: Path
) -> None:
    """zvh-migrate@ has another credentials directory (%d): its overrides point every credential
    setting of the TOML there, so zvhctl loads the same configuration."""
    unit = (SYSTEMD / "zvh-migrate@.service").read_text()
    ruw = tomllib.loads((SYSTEMD / "wvv.toml").read_text())
    env = unit_env(unit)
    assert credentials(unit) == credentials((SYSTEMD / "zvh-node@.service").read_text())
    for instelling in PADEN:
        waarde = str(waarde_van(ruw, instelling) or "")
        if waarde.startswith("/run/credentials/"):
            assert env.get(env_naam(instelling)) == "%d/" + PurePosixPath(waarde).name, instelling
    migratie = "/run/credentials/zvh-migrate@wvv.service"
    env = {k: v.replace("%d", migratie) for k, v in env.items() if k.startswith("ZVH_")}
    vm = [
        *_vm(ceremonie, tmp_path / "node-heeft-niets"),
        Mount(PurePosixPath(migratie), _credentials(ceremonie, tmp_path / "migratie")),
    ]
    env["ZVH_FEDERATIE__BEHEERDER_SLEUTEL"] = ceremonie.beheerder
    cfg, _, problemen = laad_in_container(SYSTEMD / "wvv.toml", env, vm, tmp_path, LAAD_PADEN)
    assert problemen == [] and cfg is not None
    assert cfg.nats.tls is not None and str(cfg.nats.tls.key).startswith(str(tmp_path / "migratie"))
