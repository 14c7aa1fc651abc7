"""``zvhctl status``: the status document of running nodes, and how the CLI shows it."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest

from gedeeld import config as configuratie
from gedeeld.beheer.eindpunt import BeheerServer
from gedeeld.config import NodeConfig
from gedeeld.fouten import ConfigError
from services.cli import status as status_cli
from services.node.opstart import Node
from tests.federatie.knooppunten import Federatie
from tests.voorbeelden import aanmelding, betrokkene


def _node(federatie: Federatie, code: str) -> Node:
    node = federatie[code].node
    assert node is not None
    return node


def _checks(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["status"], c["detail"]) for c in doc["checks"]}


async def test_a_healthy_node_is_green_on_every_check(federatie: Federatie) -> None:
    await federatie["wvv"].aanmelden(aanmelding(betrokkene()))
    await federatie.rustig()
    doc = await _node(federatie, "wvv").status.verzamel()

    checks = _checks(doc)
    assert set(checks) == {"services", "nats", "streams", "hub", "key_shares", "registry", "outbox"}
    assert {s for s, _ in checks.values()} == {"green"}, checks
    assert doc["status"] == "green"
    assert checks["services"][1] == "running: casusregister, sleuteldeel, signalering, samenwerking"
    assert doc["key_shares"] == {"wvv": "ok", "arnhem": "ok", "haaglanden": "ok"}
    assert doc["outbox"] == {"casusregister": 0, "signalering": 0, "samenwerking": 0}
    assert {(s["stream"], s["consumer"]) for s in doc["streams"]} == {
        ("REGIO_WVV", "signalering"),
        ("SIGNALEN", "wvv"),
        ("TREFFER_WVV", "wvv"),
        ("OVERLEG_WVV", "wvv"),
        ("REGIO_WVV", "samenwerking"),
        ("REGIO_WVV", "samenwerking-match"),  # signalering's match events
        ("REGIO_WVV", "samenwerking-signaal"),  # and its references
        ("TRENDS", "wvv"),
        # The trend radar's facts, from the region's own events (docs/trendradar.md).
        ("REGIO_WVV", "trendradar-casus"),
        ("REGIO_WVV", "trendradar-match"),
        ("REGIO_WVV", "trendradar-samenwerking"),
    }
    assert doc["registry"]["threshold"] == 2 and doc["registry"]["regions"] == 3


async def test_a_share_holder_down_is_amber_and_too_many_down_is_red(federatie: Federatie) -> None:
    _node(federatie, "wvv").status.deelhouders_cache_s = 0  # each page pings the holders afresh
    await federatie.stop("haaglanden")
    doc = await _node(federatie, "wvv").status.verzamel()
    assert doc["status"] == "amber"
    status, detail = _checks(doc)["key_shares"]
    assert status == "amber"
    assert detail == "2 of 3 answer (threshold 2); failing: haaglanden (geen_antwoord)"

    await federatie.stop("arnhem")
    doc = await _node(federatie, "wvv").status.verzamel()
    assert doc["status"] == "red"
    assert _checks(doc)["key_shares"][0] == "red"
    assert "pseudonymisation is impossible" in _checks(doc)["key_shares"][1]


async def test_the_cli_shows_the_document_and_exits_by_colour(federatie: Federatie) -> None:
    node = _node(federatie, "wvv")
    beheer = BeheerServer("127.0.0.1:0", gereed=lambda: True, status=node.status.verzamel)
    poort = await beheer.start()
    try:
        cfg = dataclasses.replace(node.cfg, beheer_listen=f"127.0.0.1:{poort}")
        doc = await _haal(cfg)
        uit = io.StringIO()
        status_cli.toon(doc, uit, kleur=False)
        tekst = uit.getvalue()
        assert tekst.startswith("node wvv: green")
        assert "  key_shares  green  3 of 3 answer (threshold 2)" in tekst
        assert "SIGNALEN/wvv" in tekst and "recent errors:" in tekst
    finally:
        await beheer.stop()
    # Nobody listens there any more: red, exit code 2, and one line saying so.
    ns = argparse.Namespace(json=False, timeout=2.0)
    assert await _uitvoeren(cfg, ns) == 2


async def _haal(cfg: NodeConfig) -> dict[str, Any]:
    return await asyncio.to_thread(status_cli.haal, cfg, 5.0)


async def _uitvoeren(cfg: NodeConfig, ns: argparse.Namespace) -> int:
    return await asyncio.to_thread(status_cli.uitvoeren, cfg, ns)


def test_without_beheer_listen_the_cli_names_the_setting(tmp_path: Path) -> None:
    pad = tmp_path / "wvv.toml"
    pad.write_text('regio = "wvv"\n')
    with pytest.raises(ConfigError) as fout:
        status_cli.haal(configuratie.laad(pad, env={}), 1.0)
    assert fout.value.message.startswith("beheer.listen: is not set")
