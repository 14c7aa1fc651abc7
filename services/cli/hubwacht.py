"""``zvhctl federatie hub-wacht``: what the hub refused, counted per region, for Prometheus.

    zvhctl federatie hub-wacht --log /var/log/zvh-hub/hub-1.log [--log …] --listen 127.0.0.1:9466
                               [--vanaf-begin]

nats-server enforces the hub's isolation (accounts, permissions, TLS) and writes every refusal to
its log, but does not count them. This follows the hub servers' logs and serves, on
``/metrics``, ``zvh_hub_violations_total{soort, regio}``: ``publish`` and ``subscribe``
(permissions violations), ``authorization`` (a login or certificate refused), ``loop`` (leaf
loop detection), ``max_payload``, ``slow_consumer``. ``regio`` is the region whose user or
account it was (``REGIO_WVV``, user ``wvv`` or the leaf certificate ``CN=zvh-leaf-wvv``), else
``onbekend``. Each refusal is also logged as one JSON line naming the kind, the region and the
subject's first tokens (never a message's content: the hub never logs content either).

In the production shape most of what a region might try never reaches the hub: its leaf node only
forwards what the hub has interest in for the region's account. What does reach the hub and is
refused is what this counts (a client logging in with a region's hub password, a leaf with a
wrong certificate, a loop).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gedeeld.beheer.eindpunt import BeheerServer
from gedeeld.beheer.metrics import HUB_OVERTREDINGEN

log = logging.getLogger("zvh.hubwacht")

_SOORTEN = (
    ("publish", re.compile(r"Publish Violation", re.IGNORECASE)),
    ("subscribe", re.compile(r"Subscription Violation", re.IGNORECASE)),
    ("authorization", re.compile(r"Authorization Violation|authentication error", re.IGNORECASE)),
    ("loop", re.compile(r"Loop detected", re.IGNORECASE)),
    ("max_payload", re.compile(r"Maximum Payload", re.IGNORECASE)),
    ("slow_consumer", re.compile(r"Slow Consumer", re.IGNORECASE)),
)
_GEBRUIKER = re.compile(r'User "([^"]*)"')
_ACCOUNT = re.compile(r"\bREGIO_([A-Z0-9_]+)")
_LEAF_CN = re.compile(r"CN=zvh-leaf-([a-z][a-z0-9-]{1,31})")
_SUBJECT = re.compile(r'Subject "([^"]*)"')
_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
# The subject words worth naming in a log line; anything else a sender chose (it could be a name
# or a BSN) is shown as "?".
_WOORDEN = frozenset(
    {"zvh", "regio", "signaal", "treffer", "overleg", "oprf", "vraag", "trend", "casus", "$JS", "$SYS",
     "$LDS", "_INBOX", "_R_", "API", "ACK", "CONSUMER", "STREAM", "hub"}
)  # fmt: skip
ONBEKEND = "onbekend"


@dataclass(frozen=True)
class Overtreding:
    soort: str
    regio: str
    subject: str  # at most the first three words, each a known word, else "?"


def _regio(regel: str) -> str:
    gebruiker = _GEBRUIKER.search(regel)
    if gebruiker:
        naam = gebruiker.group(1)
        if _CODE.match(naam):
            return naam
        cn = _LEAF_CN.search(naam)
        if cn:
            return cn.group(1)
    account = _ACCOUNT.search(regel)
    if account:
        return account.group(1).lower().replace("_", "-")
    cn = _LEAF_CN.search(regel)
    return cn.group(1) if cn else ONBEKEND


def _subject(regel: str) -> str:
    m = _SUBJECT.search(regel)
    if not m:
        return ""
    # A subject is chosen by whoever sent it: keep only its first words, and only known ones.
    return ".".join(t if t in _WOORDEN else "?" for t in m.group(1).split(".")[:3])


def herken(regel: str) -> Overtreding | None:
    """The refusal one nats-server log line reports, or None."""
    if "[ERR]" not in regel and "[WRN]" not in regel:
        return None
    for soort, patroon in _SOORTEN:
        if patroon.search(regel):
            return Overtreding(soort, _regio(regel), _subject(regel))
    return None


def tel(regel: str) -> Overtreding | None:
    o = herken(regel)
    if o is not None:
        HUB_OVERTREDINGEN.labels(o.soort, o.regio).inc()
        log.warning("hub refused", extra={"soort": o.soort, "regio": o.regio, "subject": o.subject})
    return o


class Volger:
    """Reads one log file as ``tail -F`` does: it may not exist yet, and may be rotated or
    truncated (then it is read anew from its beginning)."""

    def __init__(self, pad: Path, *, vanaf_begin: bool) -> None:
        self.pad = pad
        self._bij_start = True  # a file there at start is read from its end, unless vanaf_begin
        self._vanaf_begin = vanaf_begin
        self._positie, self._inode, self._rest = 0, -1, b""

    def nieuw(self) -> list[str]:
        """The complete lines written since the last call."""
        try:
            st = self.pad.stat()
        except FileNotFoundError:
            return []
        finally:
            bij_start, self._bij_start = self._bij_start, False
        if self._inode == -1:
            self._positie = st.st_size if bij_start and not self._vanaf_begin else 0
            self._inode = st.st_ino
        elif st.st_ino != self._inode or st.st_size < self._positie:
            self._positie, self._inode, self._rest = 0, st.st_ino, b""
        if st.st_size <= self._positie:
            return []
        with self.pad.open("rb") as f:
            f.seek(self._positie)
            data = f.read(st.st_size - self._positie)
        self._positie += len(data)
        *regels, self._rest = (self._rest + data).split(b"\n")
        return [r.decode("utf-8", "replace") for r in regels]


async def volg(pad: Path, *, vanaf_begin: bool, interval: float = 0.5) -> None:
    """Count what one log file reports, for ever (polling every ``interval`` seconds, as a log
    follower does)."""
    volger = Volger(pad, vanaf_begin=vanaf_begin)
    while True:
        for regel in await asyncio.to_thread(volger.nieuw):
            tel(regel)
        await asyncio.sleep(interval)


def voeg_toe(fed: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = fed.add_parser("hub-wacht", help="count what the hub's nats-servers refused, per region (Prometheus)")
    w.add_argument("--log", type=Path, action="append", required=True, help="a hub server's log file")
    w.add_argument("--listen", default="127.0.0.1:9466", help="where /metrics is served")
    w.add_argument("--vanaf-begin", action="store_true", help="count what is in the logs already")


async def _draai(logs: Sequence[Path], listen: str, vanaf_begin: bool) -> int:
    server = BeheerServer(listen, gereed=lambda: True, status=_geen_status)
    poort = await server.start()
    print(
        f"hub-wacht: /metrics on {listen.rpartition(':')[0]}:{poort}, following {len(logs)} log(s)",
        flush=True,
    )
    taken = [asyncio.create_task(volg(p, vanaf_begin=vanaf_begin)) for p in logs]
    try:
        await asyncio.gather(*taken)
    finally:
        for t in taken:
            t.cancel()
        with contextlib.suppress(Exception):
            await server.stop()
    return 0


async def _geen_status() -> dict[str, object]:
    return {"dienst": "hub-wacht"}


def uitvoeren(ns: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_draai(ns.log, ns.listen, ns.vanaf_begin))
    return 0
