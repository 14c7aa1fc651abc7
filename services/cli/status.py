"""``zvhctl status``: one screen per node, from its ``/status`` endpoint (``beheer.listen``).

Exit code: 0 green, 1 amber, 2 red or the node does not answer, so scripts and monitoring
can use it as a check.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
from typing import Any, TextIO

from gedeeld.beheer.eindpunt import splits_adres
from gedeeld.config import NodeConfig
from gedeeld.fouten import ConfigError

_CODE = {"green": 0, "amber": 1, "red": 2}
_KLEUR = {"green": "\033[32m", "amber": "\033[33m", "red": "\033[31m"}


def voeg_toe(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("status", help="the node's health on one screen (exit 0 green, 1 amber, 2 red)")
    s.add_argument("--json", action="store_true", help="print the status document as JSON")
    s.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the node")


def haal(cfg: NodeConfig, timeout: float) -> dict[str, Any]:
    """The node's status document; raises OSError/ValueError when it does not answer properly."""
    if not cfg.beheer_listen:
        raise ConfigError("beheer.listen", "is not set, so the node serves no /status (docs/configuratie.md)")
    host, poort = splits_adres(cfg.beheer_listen)
    if host in ("0.0.0.0", "::", "[::]", ""):  # noqa: S104 (a bind address; ask loopback)
        host = "127.0.0.1"
    conn = http.client.HTTPConnection(host, poort, timeout=timeout)
    try:
        conn.request("GET", "/status")
        antwoord = conn.getresponse()
        data = antwoord.read()
    finally:
        conn.close()
    if antwoord.status != 200:
        raise ValueError(f"HTTP {antwoord.status}")
    doc = json.loads(data)
    if not isinstance(doc, dict):
        raise ValueError("not a status document")
    return doc


def _duur(seconden: float) -> str:
    s = int(seconden)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    return f"{s // 3600}h {s % 3600 // 60}m"


def toon(doc: dict[str, Any], uit: TextIO, *, kleur: bool) -> None:
    def k(status: str) -> str:
        tekst = f"{status:<5}"
        return f"{_KLEUR.get(status, '')}{tekst}\033[0m" if kleur and status in _KLEUR else tekst

    print(
        f"node {doc.get('regio', '?')}: {k(str(doc.get('status', '?')))}  up {_duur(doc.get('uptime_s', 0))}",
        file=uit,
    )
    for c in doc.get("checks", []):
        print(f"  {c['name']:<11} {k(c['status'])}  {c['detail']}", file=uit)
    if doc.get("registry"):
        r = doc["registry"]
        print(
            f"registry: epoch {r['epoch']}, {r['regions']} regions, threshold {r['threshold']}, "
            f"valid until {r['valid_until'][:10]}",
            file=uit,
        )
    if doc.get("streams"):
        print("streams:", file=uit)
        for s in doc["streams"]:
            naam = f"{s['stream']}/{s['consumer']}"
            if "error" in s:
                print(f"  {naam:<32} unavailable ({s['error']})", file=uit)
            else:
                print(f"  {naam:<32} pending {s['pending']:>6}   ack pending {s['ack_pending']:>6}", file=uit)
    if doc.get("outbox"):
        delen = [f"{k_} {'?' if v is None else v}" for k_, v in doc["outbox"].items()]
        print("outbox backlog: " + ", ".join(delen), file=uit)
    if doc.get("key_shares"):
        print("key shares: " + ", ".join(f"{c} {v}" for c, v in doc["key_shares"].items()), file=uit)
    fouten = doc.get("recent_errors") or []
    print(f"recent errors: {len(fouten) or 'none'}", file=uit)
    for f in fouten[-5:]:
        extra = {x: y for x, y in f.items() if x not in {"ts", "level", "logger", "msg"}}
        details = " ".join(f"{x}={y}" for x, y in extra.items())
        tijd = str(f.get("ts", ""))[11:19]
        regel = f"  {tijd} {f.get('level', '')} {f.get('logger', '')}: {f.get('msg', '')} {details}"
        print(regel.rstrip(), file=uit)


def uitvoeren(cfg: NodeConfig, ns: argparse.Namespace) -> int:
    try:
        doc = haal(cfg, ns.timeout)
    except (OSError, ValueError) as exc:
        print(
            f"node {cfg.regio}: red    does not answer on {cfg.beheer_listen} ({type(exc).__name__}: {exc})",
            file=sys.stdout,
        )
        return 2
    if ns.json:
        print(json.dumps(doc, indent=2))
    else:
        toon(doc, sys.stdout, kleur=sys.stdout.isatty())
    return _CODE.get(str(doc.get("status")), 2)
