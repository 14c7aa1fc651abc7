"""End-to-end latency and throughput of a federation, measured side by side in one run.

One nats-server and N regional nodes (default 5, threshold 3) on loopback, in this
process (``deploy.lokaal``: each node is a complete ``zvh-node`` with its own
SQLite database, keys and gRPC port). Figures:

- **bare NATS**: request/reply round trip of a 1 KiB message through the same
  nats-server, the floor any cross-region step stands on;
- **latency**: from the ``Aanmelden`` reply in region A to the match arriving on
  region B's ``MatchService.Volgen`` stream, one registration at a time, over
  ``--matches`` persons that B registered beforehand; p50/p95/p99 and the ratio
  to the bare round trip;
- **throughput**: A registers new persons with ``--gelijktijdig`` calls in flight
  for ``--seconden``, from a stock of ``--voorraad`` persons per second (a warning
  says when it runs out); B registered one in five of them beforehand. Accepted/s is
  what the API takes; sustained/s is registrations divided by the time until
  every region has checked every signal. The cost per registration is split into
  the register's transaction, pseudonymisation (threshold OPRF over NATS), the
  signal publication, and matching in the four other regions (summed).

All nodes share this process (and so the GIL and two cores); production runs
each node on its own machine, so these figures are a floor for one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import nats.errors

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.looptijd import Fasen
from bench.synthetisch import Generator, Persoon
from deploy import lokaal
from deploy.lokaal import LokaleFederatie
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.grpc.authenticatie import Rol, nieuw_token, token_hash
from gedeeld.nats import onderwerpen
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import bevestig, verbind
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import casus_pb2_grpc, common_pb2, samenwerking_pb2_grpc
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from services.casusregister.casussen import Register
from services.signalering.inkomend import Inkomend
from services.signalering.uitgaand import Uitgaand

# -- instrumentation: where a registration's time goes --------------------------------

KOSTEN: dict[str, list[float]] = defaultdict(list)


def meet(naam: str, cls: type, methode: str) -> None:
    """Wrap ``cls.methode`` to record its wall time under ``naam`` (bench only)."""
    origineel: Callable[..., Awaitable[Any]] = getattr(cls, methode)

    async def gemeten(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await origineel(*args, **kwargs)
        finally:
            KOSTEN[naam].append(time.perf_counter() - start)

    setattr(cls, methode, gemeten)


meet("register (DB-transactie)", Register, "aanmelden")
meet("pseudonimisering (OPRF)", Pseudonimiseerder, "tokens")
meet("signaal publiceren (NATS)", Uitgaand, "publiceer_open")
# Signals are handled in fetched batches (bij_signaal is a batch of one), so this covers both.
meet("matching (per regio)", Inkomend, "bij_signalen")


def percentielen(waarden: list[float]) -> dict[str, float]:
    q = statistics.quantiles(waarden, n=100, method="inclusive")
    return {"p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000, "n": len(waarden)}


def aanmelding(p: Persoon, request_id: str) -> S.AanmeldenRequest:
    c = S.Criterium(voldaan=True, toelichting="bench")
    return S.AanmeldenRequest(
        request_id=request_id,
        aanmelder=S.Aanmelder(type=S.AANMELDER_TYPE_POLITIE),
        thema=S.THEMA_VERWARD_GEDRAG,
        orientatie=S.ORIENTATIE_PERSOONSGERICHT,
        wgs_criteria=S.WgsCriteria(
            a_meervoudige_problematiek=c,
            b_regulier_onvoldoende=c,
            c_gezamenlijke_aanpak=c,
            d_verwerking_noodzakelijk=c,
        ),
        betrokkenen=[
            S.Betrokkene(
                bsn=p.bsn or "",
                voornamen=p.voornamen,
                achternaam=p.achternaam,
                geboortedatum=common_pb2.Datum(
                    jaar=p.geboortedatum.year, maand=p.geboortedatum.month, dag=p.geboortedatum.day
                ),
            )
        ],
    )


class Processen:
    """Each region a ``zvh-node`` process, as in production; the bench only talks gRPC and NATS."""

    def __init__(self, fed: LokaleFederatie) -> None:
        self.fed = fed
        self.processen: dict[str, asyncio.subprocess.Process] = {}
        self.kanalen: dict[str, grpc.aio.Channel] = {}
        self.opstart_s: dict[str, float] = {}  # per node: from spawn until its gRPC port is open

    async def start(self, tegelijk: int = 2) -> None:
        """Start every node, ``tegelijk`` at a time (the machine's two cores: a node's start-up is
        mostly imports, CPU-bound; more at once only makes each start slower)."""
        node = Path(sys.executable).parent / "zvh-node"
        rij = asyncio.Semaphore(tegelijk)

        async def een(code: str, cfg_pad: Path) -> None:
            async with rij:
                begin = time.perf_counter()
                proc = await asyncio.create_subprocess_exec(
                    str(node),
                    "--config",
                    str(cfg_pad),
                    "--grace",
                    "2",
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                self.processen[code] = proc
                assert proc.stdout is not None
                regel = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
                poort = int(regel.split("gRPC on port ")[1].split(",")[0])
                self.opstart_s[code] = time.perf_counter() - begin
                self.kanalen[code] = grpc.aio.insecure_channel(f"127.0.0.1:{poort}")

        await asyncio.gather(*(een(code, r.cfg_pad) for code, r in self.fed.regios.items()))
        # gather's completion order is not the regions' order; keep the latter for the tables
        self.processen = {c: self.processen[c] for c in self.fed.regios}
        self.kanalen = {c: self.kanalen[c] for c in self.fed.regios}

    async def stop(self, *, hard: bool = False) -> None:
        """Stop every node: SIGTERM (graceful, as in production), or with ``hard`` SIGKILL, for a
        federation whose figures are taken and whose data is thrown away."""
        for k in self.kanalen.values():
            await k.close()
        # list(): a start that failed half-way may still be adding processes.
        for proc in list(self.processen.values()):
            if proc.returncode is not None:
                continue
            if hard:
                proc.kill()
            else:
                proc.terminate()
        for proc in list(self.processen.values()):
            await asyncio.wait_for(proc.wait(), 30)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the node processes used so far: what a registration costs the
        federation in CPU, however loaded the machine is (wall time is not)."""
        tik = os.sysconf("SC_CLK_TCK")
        totaal = 0
        for proc in self.processen.values():
            velden = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            totaal += int(velden[11]) + int(velden[12])  # utime, stime (fields 14, 15)
        return totaal / tik

    def rss_mb(self) -> dict[str, float]:
        uit = {}
        for code, proc in self.processen.items():
            status = Path(f"/proc/{proc.pid}/status").read_text()
            kb = next(int(r.split()[1]) for r in status.splitlines() if r.startswith("VmRSS:"))
            uit[code] = kb / 1024
        return uit


async def rustig(url: str, signalen: int, timeout: float = 600) -> float:
    """Until SIGNALEN holds ``signalen`` messages and every region's consumer has worked them all
    off; returns the seconds that took."""
    start = time.perf_counter()
    nc = await verbind(url, "bench-rustig")
    js = nc.jetstream()
    try:
        async with asyncio.timeout(timeout):
            # Polled: the progress is in other processes; NATS has no event for "all consumed".
            while (await js.stream_info(onderwerpen.SIGNALEN)).state.messages < signalen:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            while True:
                consumers = await js.consumers_info(onderwerpen.SIGNALEN)
                if all(c.num_pending == 0 and c.num_ack_pending == 0 for c in consumers):
                    return time.perf_counter() - start
                await asyncio.sleep(0.005)
    finally:
        await nc.close()


async def stil(url: str, timeout: float = 120) -> float:
    """Until no consumer of any stream has a message pending or unacknowledged; the seconds that took.

    Before nodes stop: a message a node has fetched but not acked when it stops is redelivered only
    after the consumer's ack wait (30 s), which a next phase on the same streams would wait for."""
    start = time.perf_counter()
    nc = await verbind(url, "bench-stil")
    js = nc.jetstream()
    try:
        async with asyncio.timeout(timeout):  # a bound, not a pause: it returns as soon as all is done
            while True:
                stromen = [s.config.name for s in await js.streams_info()]
                klaar = True
                for stroom in stromen:
                    if stroom is None:
                        continue
                    for c in await js.consumers_info(stroom):
                        if c.num_pending or c.num_ack_pending:
                            klaar = False
                if klaar:
                    return time.perf_counter() - start
                await asyncio.sleep(0.02)
    except TimeoutError:
        print(f"warning: streams not quiet after {timeout:.0f} s; going on", flush=True)
        return time.perf_counter() - start
    finally:
        await nc.close()


def tokens_bestand(map_: Path) -> dict[str, str]:
    """An informatiecoördinator "ic" and a procesregisseur "pr", shared by all regions of the bench."""
    tokens = {"ic": nieuw_token(), "pr": nieuw_token()}
    (map_ / "tokens.toml").write_text(
        "".join(
            f'[[gebruiker]]\nid = "{g}"\nrol = "{rol}"\ntoken_sha256 = "{token_hash(tokens[g])}"\n'
            for g, rol in (("ic", Rol.INFORMATIECOORDINATOR), ("pr", Rol.PROCESREGISSEUR))
        )
    )
    return tokens


class Bench:
    def __init__(self, kanalen: dict[str, grpc.aio.Channel], tokens: dict[str, str]) -> None:
        self.kanalen = kanalen
        self.tokens = tokens
        self.volgnummer = 0
        self.signalen = 0

    def md(self, gebruiker: str) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.tokens[gebruiker]}"),)

    def stub(self, regio: str) -> casus_pb2_grpc.CasusServiceAsyncStub:
        return casus_pb2_grpc.CasusServiceStub(self.kanalen[regio])

    async def registreer(self, regio: str, p: Persoon) -> None:
        self.volgnummer += 1
        self.signalen += 1  # one person per casus: one signal
        await self.stub(regio).Aanmelden(aanmelding(p, f"bench-{uuid.uuid4()}"), metadata=self.md("ic"))

    async def registreer_veel(self, regio: str, personen: list[Persoon], gelijktijdig: int = 16) -> None:
        rij: asyncio.Queue[Persoon] = asyncio.Queue()
        for p in personen:
            rij.put_nowait(p)

        async def werker() -> None:
            while not rij.empty():
                await self.registreer(regio, rij.get_nowait())

        await asyncio.gather(*(werker() for _ in range(gelijktijdig)))


async def bare_nats(url: str, n: int) -> list[float]:
    a = await verbind(url, "bench-a")
    b = await verbind(url, "bench-b")

    async def echo(msg: Any) -> None:
        await msg.respond(msg.data)

    await b.subscribe("bench.echo", cb=echo)
    await bevestig(b)
    for _ in range(100):  # interest propagates asynchronously inside the server
        try:
            await a.request("bench.echo", b"warm-up", timeout=5)
            break
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.01)
    data = os.urandom(1024)
    tijden = []
    for _ in range(n):
        start = time.perf_counter()
        await a.request("bench.echo", data, timeout=5)
        tijden.append(time.perf_counter() - start)
    await a.close()
    await b.close()
    return tijden


async def latentie(
    bench: Bench, url: str, personen: list[Persoon], a: str, b: str, fasen: Fasen
) -> list[float]:
    with fasen("latency: B registers the persons first"):
        await bench.registreer_veel(b, personen)
        await rustig(url, bench.signalen)
    stroom = samenwerking_pb2_grpc.MatchServiceStub(bench.kanalen[b]).Volgen(
        M.VolgenRequest(), metadata=bench.md("pr")
    )
    tijden = []
    with fasen(f"latency: {len(personen)} matches, one at a time"):
        for p in personen:
            await bench.registreer(a, p)
            start = time.perf_counter()
            w = await asyncio.wait_for(stroom.read(), 30)
            tijden.append(time.perf_counter() - start)
            assert isinstance(w, M.MatchWijziging) and w.nieuw and w.match.andere_regio == a
    stroom.cancel()
    return tijden


async def doorvoer(
    bench: Bench,
    url: str,
    gen: Generator,
    a: str,
    b: str,
    seconden: float,
    gelijktijdig: int,
    voorraad_per_s: float,
    fasen: Fasen,
    cpu: Callable[[], float],
) -> dict[str, Any]:
    # The persons A may register; B registers one in five of them first. The stock is sized at
    # ``voorraad_per_s`` (a multiple of the rate A's API takes), not unbounded: B's registrations
    # beforehand go through the whole federation and cost as much time as the measurement itself.
    voorraad = [gen.persoon() for _ in range(int(seconden * voorraad_per_s))]
    with fasen("throughput: B registers one in five first"):
        await bench.registreer_veel(b, voorraad[::5])
        await rustig(url, bench.signalen)
    rij = iter(voorraad)
    geteld = 0
    eind = time.perf_counter() + seconden

    async def werker() -> None:
        nonlocal geteld
        for p in rij:
            if time.perf_counter() >= eind:
                return
            await bench.registreer(a, p)
            geteld += 1

    cpu_voor = cpu()
    start = time.perf_counter()
    await asyncio.gather(*(werker() for _ in range(gelijktijdig)))
    geaccepteerd = time.perf_counter() - start
    fasen.seconden["throughput: the window"] = geaccepteerd
    op = geteld == len(voorraad)
    if op:
        print(
            f"warning: the stock of {len(voorraad)} persons ran out after {geaccepteerd:.1f} s; "
            "raise --voorraad",
            flush=True,
        )
    await rustig(url, bench.signalen)
    verwerkt = time.perf_counter() - start
    cpu_ms = (cpu() - cpu_voor) * 1000 / max(1, geteld)
    fasen.seconden["throughput: after it, until all checked"] = verwerkt - geaccepteerd
    return {
        "seconden": seconden,
        "gelijktijdig": gelijktijdig,
        "voorraad": len(voorraad),
        "voorraad_op": op,
        "vooraf_in_b": len(voorraad[::5]),
        "registraties": geteld,
        "geaccepteerd_per_s": geteld / geaccepteerd,
        "volgehouden_per_s": geteld / verwerkt,
        # CPU of all node processes per registration (its signal checked by every region); the
        # ceiling of the sustained rate on this machine is cores / this, with nothing else running.
        "cpu_ms_per_registratie": cpu_ms,
        "plafond_per_s": (os.cpu_count() or 1) * 1000 / cpu_ms if cpu_ms else 0.0,
    }


async def kosten(
    fed: LokaleFederatie, tokens: dict[str, str], gen: Generator, n: int, fasen: Fasen
) -> dict[str, float]:
    """Nodes in this process, one registration at a time: each part's wall time, not overlapping."""
    kanalen = {}
    with fasen("cost split: start nodes in-process"):
        for c, r in fed.regios.items():
            await fed.start(c)
            assert r.kanaal is not None
            kanalen[c] = r.kanaal
    try:
        bench = Bench(kanalen, tokens)
        a, b = list(fed.regios)[:2]
        personen = [gen.persoon() for _ in range(n)]
        with fasen("cost split: B registers one in five first"):
            await bench.registreer_veel(b, personen[::5])
            await fed.rustig(timeout=600)
        KOSTEN.clear()
        with fasen("cost split: registrations one at a time"):
            for p in personen:
                await bench.registreer(a, p)
                await fed.rustig(timeout=60)
        return {k: sum(v) / n * 1000 for k, v in KOSTEN.items()}
    finally:
        with fasen("cost split: stop nodes"):
            for c in fed.regios:
                await fed.stop(c)


async def main_async(ns: argparse.Namespace, fasen: Fasen) -> dict[str, Any]:
    map_ = Path(tempfile.mkdtemp(prefix="zvh-bench-"))
    codes = lokaal.REGIOS[: ns.regios]
    tokens = tokens_bestand(map_)
    nats = NatsServer(map_ / "nats")
    url = await nats.start()
    with fasen("keys, ceremony, databases"):
        fed = await lokaal.maak(
            map_,
            url,
            map_ / "tokens.toml",
            codes=codes,
            drempel=ns.drempel,
            federatie_extra=lokaal.ZONDER_PLAFOND,
        )
        if ns.pad == "vorig":
            # The previous storage setting: an fsync per SQLite commit.
            for r in fed.regios.values():
                r.cfg_pad.write_text(r.cfg_pad.read_text() + '\n[database]\nsynchronous = "full"\n')
    processen = Processen(fed)
    gen = Generator(random.Random(ns.seed), aandeel_zonder_bsn=0.0)
    try:
        with fasen("start processes + warm-up"):
            await processen.start()
            bench = Bench(processen.kanalen, tokens)
            a, b = codes[0], codes[1]
            await bench.registreer(a, gen.persoon())  # warm-up: connections, caches
            await rustig(url, bench.signalen)
        print(f"bare NATS request/reply ({ns.matches * 2}x)...", flush=True)
        with fasen("bare NATS"):
            kaal = percentielen(await bare_nats(url, ns.matches * 2))
        print(
            f"latency over {ns.matches} matches ({len(codes)} regions as processes, t={ns.drempel})...",
            flush=True,
        )
        lat = percentielen(
            await latentie(bench, url, [gen.persoon() for _ in range(ns.matches)], a, b, fasen)
        )
        print(f"throughput for {ns.seconden:.0f} s with {ns.gelijktijdig} calls in flight...", flush=True)
        door = await doorvoer(
            bench, url, gen, a, b, ns.seconden, ns.gelijktijdig, ns.voorraad, fasen, processen.cpu_s
        )
        door["geheugen_mb_per_node"] = processen.rss_mb()
        with fasen("until all streams are quiet"):
            await stil(url)
    finally:
        with fasen("stop processes"):
            await processen.stop()
    try:
        print(
            f"cost split over {ns.kosten} registrations, one at a time, nodes in one process...", flush=True
        )
        door["kosten_ms_per_registratie"] = await kosten(fed, tokens, gen, ns.kosten, fasen)
        door["kosten_registraties"] = ns.kosten
    finally:
        await nats.stop()
        shutil.rmtree(map_, ignore_errors=True)
    return {
        "pad": ns.pad,
        "regios": len(codes),
        "drempel": ns.drempel,
        "nats_rtt_ms": kaal,
        "aanmelden_tot_volgen_ms": lat,
        "verhouding_p50": lat["p50"] / kaal["p50"],
        "verhouding_p99": lat["p99"] / kaal["p99"],
        "doorvoer": door,
    }


def toon(r: dict[str, Any]) -> str:
    k, lt, d = r["nats_rtt_ms"], r["aanmelden_tot_volgen_ms"], r["doorvoer"]
    regels = [
        f"Federation of {r['regios']} regions (one zvh-node process each), threshold {r['drempel']}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, code path: {r['pad']}",
        "",
        f"{'':44}{'p50':>9}{'p95':>9}{'p99':>9}",
        f"{'bare NATS request/reply (1 KiB), ms':44}{k['p50']:9.2f}{k['p95']:9.2f}{k['p99']:9.2f}",
        f"{'Aanmelden reply -> match on Volgen, ms':44}{lt['p50']:9.2f}{lt['p95']:9.2f}{lt['p99']:9.2f}",
        f"{'ratio':44}{r['verhouding_p50']:9.1f}{'':9}{r['verhouding_p99']:9.1f}",
        "",
        f"registrations accepted: {d['geaccepteerd_per_s']:.0f}/s; sustained (all regions checked): "
        f"{d['volgehouden_per_s']:.0f}/s over {d['registraties']} registrations",
        f"CPU of the node processes per registration: {d['cpu_ms_per_registratie']:.1f} ms "
        f"(ceiling on {os.cpu_count()} idle cores: {d['plafond_per_s']:.0f}/s)",
        "memory per node (RSS, MB): "
        + ", ".join(f"{k} {v:.0f}" for k, v in d["geheugen_mb_per_node"].items()),
        "cost per registration, one at a time (ms; matching summed over the other regions):",
        *(f"  {naam:32} {ms:8.2f}" for naam, ms in d["kosten_ms_per_registratie"].items()),
    ]
    return "\n".join(regels)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--regios", type=int, default=5)
    p.add_argument("--drempel", type=int, default=3)
    p.add_argument("--matches", type=int, default=1000)
    p.add_argument("--seconden", type=float, default=15.0)
    p.add_argument("--gelijktijdig", type=int, default=32)
    p.add_argument(
        "--voorraad",
        type=float,
        default=120.0,
        help="persons per second of --seconden that A may register (B registers one in five first)",
    )
    p.add_argument("--kosten", type=int, default=100, help="registrations for the cost split")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--pad",
        choices=("nu", "vorig"),
        default="nu",
        help="vorig: the previous code path (ZVH_OPRF_PAD=vorig, SQLite synchronous=FULL), side by side",
    )
    p.add_argument("--json", type=Path, help="merge the figures into this JSON file")
    ns = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    # Read by the node processes (inherited) and the in-process nodes of the cost split.
    os.environ["ZVH_OPRF_PAD"] = "vorig" if ns.pad == "vorig" else ""
    naam = "federatie" if ns.pad == "nu" else "federatie_vorig"
    fasen = Fasen(naam)
    r = asyncio.run(main_async(ns, fasen))
    print(toon(r))
    print(fasen.tekst())
    fasen.bewaar(ns.json)
    if ns.json:
        doc = json.loads(ns.json.read_text()) if ns.json.exists() else {}
        doc[naam] = r
        ns.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
