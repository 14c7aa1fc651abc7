"""The federation in its production shape for the attack tests: deploy/operatie.py's three
regions (wvv, arnhem, haaglanden), each a real zvh-node behind its own leaf node, on a 3-server
hub cluster, TLS on every connection. The attacker is always one region acting with only what it
legitimately holds: its leaf (and the node's password and certificate for it), its keys, its key
share, its node's configuration (all under ``<map>/<regio>/`` and ``<map>/certs/<regio>/``)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client

from gedeeld.config import NatsTlsConfig
from gedeeld.nats.hubconfig import inbox_prefix
from gedeeld.pki.tls import nats_tls_context
from tests.deploy.test_operatie import Regio, draaiend


@dataclass
class Productie:
    map: Path
    opzet: dict[str, Any]
    clients: list[Client] = field(default_factory=list)

    def regio(self, code: str) -> Regio:
        """The region's gRPC API, as its own users reach it."""
        return Regio(self.map, code)

    def monitor_poorten(self) -> list[int]:
        return [int(h[3]) for h in self.opzet["hub"]]

    async def als(self, code: str) -> Client:
        """A NATS client on ``code``'s own leaf node, with the node's password and certificate:
        exactly what the region has."""
        wachtwoord = (self.map / code / "nats-wachtwoord").read_text().strip()
        certs = self.map / "certs"
        nc = await nats.connect(
            f"tls://127.0.0.1:{self.opzet['poorten'][code]['leaf']}",
            user="node",
            password=wachtwoord,
            inbox_prefix=inbox_prefix(code),
            tls=nats_tls_context(
                NatsTlsConfig(certs / "ca.crt", certs / code / "node.crt", certs / code / "node.key")
            ),
            connect_timeout=5,
        )
        self.clients.append(nc)
        return nc

    async def beheer(self) -> Client:
        """The hub's operators (not a region): to look at the hub's streams and consumers."""
        wachtwoord = tomllib.loads((self.map / "nats" / "hub" / "credentials.toml").read_text())
        nc = await nats.connect(
            [f"tls://127.0.0.1:{h[0]}" for h in self.opzet["hub"]],
            user="beheer",
            password=wachtwoord["beheer_wachtwoord"],
            tls=nats_tls_context(NatsTlsConfig(self.map / "certs" / "ca.crt")),
            connect_timeout=5,
        )
        self.clients.append(nc)
        return nc

    def log(self, naam: str) -> str:
        return (self.map / "logs" / f"{naam}.log").read_text()


@pytest.fixture(scope="session")
def productie_map(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with draaiend(tmp_path_factory.mktemp("productie")) as map_:
        yield map_


@pytest.fixture
async def productie(productie_map: Path) -> AsyncIterator[Productie]:
    p = Productie(productie_map, json.loads((productie_map / "opzet.json").read_text()))
    yield p
    for c in p.clients:
        await c.close()
