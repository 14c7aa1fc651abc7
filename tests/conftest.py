"""Fixtures: real nats-server, real PostgreSQL, real gRPC servers on loopback."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import grpc
import pytest
from nats.aio.client import Client

from gedeeld import config as configuratie
from gedeeld import migraties
from gedeeld.config import NodeConfig
from gedeeld.db import Database
from gedeeld.grpc.authenticatie import Rol, token_hash
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import casus_pb2_grpc
from services.casusregister.server import Casusregister
from services.node.opstart import COMPONENTEN
from tests.pg import PostgresServer

_db_teller = itertools.count()


async def begrensd(stap: str, coro: Awaitable[object], seconden: float = 15) -> None:
    """Teardown steps are bounded: a hang fails the test naming the step, with every task's stack."""
    try:
        await asyncio.wait_for(coro, seconden)
    except TimeoutError:
        for task in asyncio.all_tasks():
            task.print_stack(file=sys.stderr)
        pytest.fail(f"teardown step '{stap}' did not finish within {seconden}s")


class VerschuifbareKlok:
    """A clock tests can move (retention, expiry)."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def nu(self) -> datetime:
        return self.moment

    def verzet(self, delta: timedelta) -> None:
        self.moment += delta


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.cleanup()


async def nieuwe_pg_database(postgres_url: str) -> str:
    naam = f"t{next(_db_teller)}"
    conn = await asyncpg.connect(postgres_url + "/postgres")
    try:
        await conn.execute(f"CREATE DATABASE {naam}")
    finally:
        await conn.close()
    return f"{postgres_url}/{naam}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    return await nieuwe_pg_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    server = NatsServer(tmp_path / "nats")
    await server.start()
    try:
        yield server
    finally:
        await begrensd("nats-server stop", server.stop())


@pytest.fixture
async def federatie(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[object]:
    """Three regional nodes (wvv, arnhem, haaglanden; t = 2) on one nats-server, all started."""
    from tests.federatie import knooppunten

    async with knooppunten.draaiend(await knooppunten.maak(tmp_path, nats_server.url)) as fed:
        yield fed


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await verbind(nats_server.url, "test")
    try:
        yield client
    finally:
        await begrensd("nats client close", client.close())


# Users of the test region, one per role, plus a second procesregisseur.
GEBRUIKERS = {
    "pr-anna": Rol.PROCESREGISSEUR,
    "pr-bram": Rol.PROCESREGISSEUR,
    "ic-carla": Rol.INFORMATIECOORDINATOR,
    "nm-dirk": Rol.NETWERKMANAGER,
    "fg-eva": Rol.FG,
}


def token_van(gebruiker: str) -> str:
    return f"test-token-{gebruiker}"


def schrijf_tokens(path: Path, diensten: dict[str, tuple[str, Rol]] | None = None) -> None:
    regels = []
    for g, rol in GEBRUIKERS.items():
        regels += [
            "[[gebruiker]]",
            f'id = "{g}"',
            f'rol = "{rol}"',
            f'token_sha256 = "{token_hash(token_van(g))}"',
            "",
        ]
    for cert, (ident, rol) in (diensten or {}).items():
        regels += ["[[dienst]]", f'certificaat = "{cert}"', f'id = "{ident}"', f'rol = "{rol}"', ""]
    path.write_text("\n".join(regels))


def node_config(
    tmp_path: Path, database_url: str, nats_url: str, regio: str = "wvv", extra: str = ""
) -> NodeConfig:
    schrijf_tokens(tmp_path / "tokens.toml")
    toml = tmp_path / "node.toml"
    toml.write_text(
        f'regio = "{regio}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[database]\nurl = "{database_url}"\n[nats]\nurl = "{nats_url}"\n'
        f'[auth]\ntokens = "{tmp_path / "tokens.toml"}"\n'
        f'[casusregister]\nlisten = "127.0.0.1:0"\n{extra}'
    )
    return configuratie.laad(toml, env={})


async def migreer(db: Database) -> None:
    for component in COMPONENTEN:
        await migraties.upgrade(db, component)


@dataclass
class RegisterOpLoopback:
    """A running casusregister with a channel to it."""

    service: Casusregister
    db: Database
    klok: VerschuifbareKlok
    kanaal: grpc.aio.Channel
    stub: casus_pb2_grpc.CasusServiceAsyncStub
    cfg: NodeConfig
    _seen: list[str] = field(default_factory=list)

    def als(self, gebruiker: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token_van(gebruiker)}"),)


@pytest.fixture
async def register(
    tmp_path: Path, database_url: str, nats_server: NatsServer, nc: Client
) -> AsyncIterator[RegisterOpLoopback]:
    cfg = node_config(tmp_path, database_url, nats_server.url)
    db = Database(cfg.database_url)
    await migreer(db)
    klok = VerschuifbareKlok()
    service = Casusregister(cfg, db, nc, klok=klok)
    port = await service.start()
    kanaal = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield RegisterOpLoopback(service, db, klok, kanaal, casus_pb2_grpc.CasusServiceStub(kanaal), cfg)
    finally:
        await begrensd("channel close", kanaal.close())
        await begrensd("casusregister stop", service.stop(grace=1))
        await begrensd("database close", db.close())
