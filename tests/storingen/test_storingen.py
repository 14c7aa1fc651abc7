"""Fault injection: NATS, nodes and key-share holders failing under load (bounded in time).

Each test names the property it defends: no lost signal, no duplicate match, no
lost outbox event, pseudonymisation surviving n - t holders down, and valid work
still done under a flood of garbage.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY

from bench.synthetisch import Generator
from deploy import lokaal
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import casus_pb2_grpc, gebeurtenis_pb2
from tests.conftest import begrensd, schrijf_tokens, token_van
from tests.federatie import knooppunten
from tests.federatie.knooppunten import Federatie, Regio
from tests.voorbeelden import aanmelding, betrokkene

BIN = Path(sys.executable).parent
# The figure; ZVH_STORINGEN_N lowers it for a quick local run.
N = int(os.environ.get("ZVH_STORINGEN_N", "1000"))


def vrije_poort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def personen(n: int, seed: int) -> list[S.Betrokkene]:
    gen = Generator(random.Random(seed), aandeel_zonder_bsn=0.0)
    uit = []
    for _ in range(n):
        p = gen.persoon()
        d = p.geboortedatum
        uit.append(
            betrokkene(
                bsn=p.bsn or "",
                voornamen=p.voornamen,
                voorvoegsels="",
                achternaam=p.achternaam,
                geboren=(d.year, d.month, d.day),
            )
        )
    return uit


async def registreer_allen(r: Regio, wie: list[S.Betrokkene], gelijktijdig: int = 16) -> list[str]:
    rij = list(enumerate(wie))
    ids: dict[int, str] = {}

    async def werker() -> None:
        while rij:
            i, b = rij.pop()
            for poging in range(
                50
            ):  # the node itself may be briefly without NATS: Aanmelden does not need it
                try:
                    ids[i] = (await r.aanmelden(aanmelding(b, request_id=f"{r.code}-{i}"))).casus_id
                    break
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.1 * (poging + 1))

    await asyncio.gather(*(werker() for _ in range(gelijktijdig)))
    return [ids[i] for i in range(len(wie))]


def geteld(naam: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(naam, labels or {}) or 0.0


# 2 x 1000 registrations through real nodes: about 95 s here, so above the suite's 120 s default.
@pytest.mark.timeout(360)
async def test_nats_killed_and_restarted_during_registrations_loses_no_signal(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats", port=vrije_poort())
    await server.start()
    try:
        # N persons a region in a minute is a load test, far above a day's OPRF cap: cap off.
        fed = await knooppunten.maak(tmp_path, server.url, n=2, t=2, federatie_extra=lokaal.ZONDER_PLAFOND)
        async with knooppunten.draaiend(fed):
            a, b = fed["wvv"], fed["arnhem"]
            wie = personen(N, seed=11)
            await registreer_allen(b, wie)
            await fed.rustig(timeout=300)

            async def storing() -> None:
                await asyncio.sleep(1.0)
                await server.kill()
                await asyncio.sleep(2.0)
                await server.start()

            await asyncio.gather(registreer_allen(a, wie), storing())
            await fed.rustig(timeout=300)
            ma, mb = await a.matches(), await b.matches()
            # Every registration in A met its counterpart in B exactly once, on both sides.
            assert len(ma) == len(mb) == N
            assert len({m.andere_referentie for m in ma}) == N
            assert len({m.eigen_casus_id for m in mb}) == N
    finally:
        await begrensd("nats-server stop", server.stop())


async def test_key_share_holders_down_then_back(tmp_path: Path, nats_server: NatsServer) -> None:
    fed = await knooppunten.maak(tmp_path, nats_server.url, n=5, t=3)
    async with knooppunten.draaiend(fed):
        a, b = fed["wvv"], fed["arnhem"]
        await fed.stop("ijsselland")
        await fed.stop("zeeland")  # n - t = 2 holders down: pseudonymisation continues
        await b.aanmelden(aanmelding(betrokkene()))
        await a.aanmelden(aanmelding(betrokkene(voornamen="Jan")))
        await fed.rustig()
        assert len(await b.matches()) == 1

        await fed.stop("haaglanden")  # one more: too few holders for t = 3
        mislukt = geteld("zvh_pseudonymisation_unavailable_total")
        tweede = betrokkene(bsn="123456782", voornamen="Els", voorvoegsels="", achternaam="Bakker")
        await b.aanmelden(aanmelding(tweede))
        await fed.wacht(lambda: _meer_dan(mislukt), timeout=30)
        assert len(await b.matches()) == 1, "no signal while too few holders answer"

        await fed.start("haaglanden")  # the retried event is signalled once holders return
        await fed.wacht(lambda: _matches(b, 0), timeout=60)
        await a.aanmelden(
            aanmelding(betrokkene(bsn="123456782", voornamen="E.", voorvoegsels="", achternaam="Bakker"))
        )
        await fed.wacht(lambda: _matches(b, 2), timeout=60)
        assert len(await b.matches()) == 2


async def _meer_dan(waarde: float) -> bool:
    return geteld("zvh_pseudonymisation_unavailable_total") > waarde


async def _matches(r: Regio, n: int) -> bool:
    if n == 0:
        # The held-back signal went out: B's own signal rows are all published.
        assert r.node is not None
        async with r.node.db.lezen() as s:
            from sqlalchemy import select

            from services.signalering.store import EigenSignaalRij

            rijen = (await s.execute(select(EigenSignaalRij))).scalars().all()
            return len(rijen) == 2 and all(x.gepubliceerd for x in rijen)
    return len(await r.matches()) >= n


async def test_garbage_burst_is_rejected_and_valid_signals_still_match(federatie: Federatie) -> None:
    nc = await verbind(federatie.url, "vandaal")
    js = nc.jetstream()
    try:
        voor = geteld("zvh_signals_rejected_total", {"reden": "onleesbaar"})
        rss_voor = _rss_mb()
        for i in range(10_000):
            await js.publish("zvh.signaal.haaglanden", os.urandom(64 + i % 512))
        a, b = federatie["wvv"], federatie["arnhem"]
        await a.aanmelden(aanmelding(betrokkene()))
        await b.aanmelden(aanmelding(betrokkene(voornamen="Jan")))
        await federatie.rustig(timeout=300)
        assert len(await a.matches()) == 1 and len(await b.matches()) == 1
        # Two regions read the garbage (haaglanden skips its own subject): all rejected, counted.
        assert geteld("zvh_signals_rejected_total", {"reden": "onleesbaar"}) - voor == 20_000
        assert _rss_mb() - rss_voor < 100, "memory stays bounded (no buffering of the flood)"
    finally:
        await nc.close()


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return next(int(r.split()[1]) for r in status.splitlines() if r.startswith("VmRSS:")) / 1024


async def test_node_killed_mid_transaction_loses_no_outbox_event(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    schrijf_tokens(tmp_path / "tokens.toml")
    cfg = tmp_path / "wvv.toml"
    cfg.write_text(
        f'regio = "wvv"\ndata_dir = "data"\n[nats]\nurl = "{nats_server.url}"\n'
        '[auth]\ntokens = "tokens.toml"\n[casusregister]\nlisten = "127.0.0.1:0"\n'
    )
    upgrade = await asyncio.create_subprocess_exec(str(BIN / "zvhctl"), "--config", str(cfg), "db", "upgrade")
    assert await upgrade.wait() == 0

    async def start() -> tuple[
        asyncio.subprocess.Process, casus_pb2_grpc.CasusServiceAsyncStub, grpc.aio.Channel
    ]:
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "zvh-node"),
            "--config",
            str(cfg),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        regel = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        poort = int(regel.split("gRPC on port ")[1].split(",")[0])
        kanaal = grpc.aio.insecure_channel(f"127.0.0.1:{poort}")
        return proc, casus_pb2_grpc.CasusServiceStub(kanaal), kanaal

    proc, stub, kanaal = await start()
    md = (("authorization", f"Bearer {token_van('ic-carla')}"),)
    bevestigd: list[str] = []
    genoeg = asyncio.Event()

    async def werker(w: int) -> None:
        for i in range(1000):
            try:
                r = await stub.Aanmelden(aanmelding(betrokkene(), request_id=f"w{w}-{i}"), metadata=md)
            except grpc.aio.AioRpcError:
                return  # the node is gone
            bevestigd.append(r.casus.casus_id)
            if len(bevestigd) >= 100:
                genoeg.set()

    werkers = [asyncio.create_task(werker(w)) for w in range(8)]
    await asyncio.wait_for(genoeg.wait(), 60)
    proc.send_signal(signal.SIGKILL)  # mid-transaction: calls are in flight
    await proc.wait()
    await asyncio.gather(*werkers)
    await kanaal.close()

    proc, _, kanaal = await start()
    try:
        nc = await verbind(nats_server.url, "controle")
        js = nc.jetstream()
        gepubliceerd: list[str] = []
        async with asyncio.timeout(60):
            sub = await js.pull_subscribe("regio.wvv.casus.>", stream="REGIO_WVV")
            while not set(bevestigd) <= set(gepubliceerd):
                try:
                    for m in await sub.fetch(200, timeout=1):
                        gepubliceerd.append(
                            gebeurtenis_pb2.CasusGebeurtenis.FromString(m.data).casus.casus_id
                        )
                        await m.ack()
                except TimeoutError:
                    continue
        # Every acknowledged registration's event is on the stream, and no event twice.
        assert set(bevestigd) <= set(gepubliceerd)
        assert len(gepubliceerd) == len(set(gepubliceerd))
        await nc.close()
    finally:
        await kanaal.close()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)


# Two node processes, a few hundred registrations: ~1 min on the shared machine.
@pytest.mark.timeout(300)
async def test_nodes_sigkilled_mid_burst_lose_no_match(tmp_path: Path, nats_server: NatsServer) -> None:
    """SQLite in WAL with synchronous=NORMAL (the default): a SIGKILL of both nodes while A takes a
    burst and B matches it loses no acknowledged registration's match, and records none twice."""
    from sqlalchemy import select

    from bench.federatie import Processen, rustig, stil, tokens_bestand
    from bench.federatie import aanmelding as bench_aanmelding
    from gedeeld import config as configuratie
    from gedeeld.db import Database
    from services.signalering.store import MatchRij

    tokens = tokens_bestand(tmp_path)
    fed = await lokaal.maak(
        tmp_path,
        nats_server.url,
        tmp_path / "tokens.toml",
        codes=lokaal.REGIOS[:2],
        drempel=2,
        federatie_extra=lokaal.ZONDER_PLAFOND,
    )
    a, b = lokaal.REGIOS[:2]
    gen = Generator(random.Random(23), aandeel_zonder_bsn=0.0)
    wie = [gen.persoon() for _ in range(150)]
    md = (("authorization", f"Bearer {tokens['ic']}"),)
    processen = Processen(fed)
    await processen.start()
    try:
        stub_b = casus_pb2_grpc.CasusServiceStub(processen.kanalen[b])
        for i, p in enumerate(wie):
            await stub_b.Aanmelden(bench_aanmelding(p, f"b-{i}"), metadata=md)
        await rustig(nats_server.url, len(wie), timeout=120)

        stub_a = casus_pb2_grpc.CasusServiceStub(processen.kanalen[a])
        bevestigd: list[str] = []
        genoeg = asyncio.Event()
        rij = list(enumerate(wie))

        async def werker() -> None:
            while rij:
                i, p = rij.pop()
                try:
                    r = await stub_a.Aanmelden(bench_aanmelding(p, f"a-{i}"), metadata=md)
                except grpc.aio.AioRpcError:
                    return  # the node is gone
                bevestigd.append(r.casus.casus_id)
                if len(bevestigd) >= 40:
                    genoeg.set()

        werkers = [asyncio.create_task(werker()) for _ in range(16)]
        await asyncio.wait_for(genoeg.wait(), 120)
        for proc in processen.processen.values():
            proc.send_signal(signal.SIGKILL)  # mid-burst: registrations, OPRF and matching in flight
        for proc in processen.processen.values():
            await proc.wait()
        await asyncio.gather(*werkers)
        assert len(bevestigd) < len(wie), "the kill came mid-burst"
        await processen.stop()

        await processen.start()
        # At least every acknowledged registration's signal arrives, then all regions work them off.
        await rustig(nats_server.url, len(wie) + len(bevestigd), timeout=180)
        await stil(nats_server.url, timeout=120)
    finally:
        await processen.stop()

    async def matches(code: str) -> list[MatchRij]:
        db = Database(configuratie.laad(fed.regios[code].cfg_pad, env={}).database_url)
        try:
            async with db.lezen() as s:
                return list((await s.execute(select(MatchRij))).scalars())
        finally:
            await db.close()

    ma, mb = await matches(a), await matches(b)
    eigen = [m.eigen_casus_id for m in ma]
    assert set(bevestigd) <= set(eigen), "every acknowledged registration matched"
    assert len(eigen) == len(set(eigen)), "no match twice"
    assert len(mb) == len(ma) and len({m.andere_referentie for m in mb}) == len(mb)
