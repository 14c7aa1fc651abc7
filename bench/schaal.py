"""Scale and onboarding: how the federation grows from 3 to 31 regions, and a region joining.

**Scale**: for 3, 10 and 31 regions (threshold 3; each region a ``zvh-node``
process on this machine, started two at a time) the memory per node, the start-up
time, and the time from a registration in one region until every other region's
consumer has checked its signal (``--herhalingen`` registrations, one at a time).

**Onboarding**: a region joins with ``--onboarding`` active cases. Its case
events are put on its region-local stream before its node starts (as if its
case system had been imported), then the node starts and pseudonymises and
publishes them all. Measured: the time until every other region has checked
every signal, and a normal registration's latency between two other regions
meanwhile. The key-share holders' burst is raised for this (an onboarding is
announced; the default burst covers ~4,000 persons).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from gedeeld.nats import onderwerpen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.federatie import Bench, Processen, aanmelding, rustig, tokens_bestand
from bench.looptijd import Fasen
from bench.synthetisch import Generator
from deploy import lokaal
from gedeeld.nats.jetstream import zorg_voor_stroom
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from gedeeld.zvh.v1 import samenwerking_pb2_grpc

TEGELIJK = 2  # nodes started at a time (``Processen.start``)


async def schaal(n: int, herhalingen: int, seed: int, fasen: Fasen) -> dict[str, Any]:
    map_ = Path(tempfile.mkdtemp(prefix=f"zvh-schaal-{n}-"))
    tokens = tokens_bestand(map_)
    nats = NatsServer(map_ / "nats")
    url = await nats.start()
    codes = [f"r{i:02d}" for i in range(1, n + 1)]
    with fasen(f"{n} regions: keys, ceremony, databases"):
        fed = await lokaal.maak(
            map_, url, map_ / "tokens.toml", codes=codes, drempel=3, federatie_extra=lokaal.ZONDER_PLAFOND
        )
    processen = Processen(fed)
    gen = Generator(random.Random(seed), aandeel_zonder_bsn=0.0)
    try:
        begin = time.perf_counter()
        with fasen(f"{n} regions: start processes"):
            await processen.start(TEGELIJK)
        opstart_alle = time.perf_counter() - begin
        with fasen(f"{n} regions: warm-up"):
            bench = Bench(processen.kanalen, tokens)
            await bench.registreer(codes[0], gen.persoon())
            await rustig(url, bench.signalen)
        tijden = []
        with fasen(f"{n} regions: {herhalingen} signals checked by all"):
            for i in range(herhalingen):
                regio = codes[i % n]
                start = time.perf_counter()
                await bench.registreer(regio, gen.persoon())
                await rustig(url, bench.signalen)
                tijden.append((time.perf_counter() - start) * 1000)
        rss = processen.rss_mb()
    finally:
        with fasen(f"{n} regions: stop"):
            await processen.stop(hard=True)  # the figures are taken; nothing here measures a shutdown
            await nats.stop()
            shutil.rmtree(map_, ignore_errors=True)
    return {
        "regios": n,
        "geheugen_mb_per_node": statistics.mean(rss.values()),
        "opstart_s_per_node": statistics.median(processen.opstart_s.values()),
        "opstart_s_alle_nodes": opstart_alle,
        "tegelijk_gestart": TEGELIJK,
        "signaal_door_allen_gecontroleerd_ms": {
            "p50": statistics.median(tijden),
            "max": max(tijden),
            "n": len(tijden),
        },
    }


async def onboarding(aantal: int, seed: int, fasen: Fasen) -> dict[str, Any]:
    map_ = Path(tempfile.mkdtemp(prefix="zvh-onboarding-"))
    tokens = tokens_bestand(map_)
    nats = NatsServer(map_ / "nats")
    url = await nats.start()
    codes = lokaal.REGIOS[:5]
    nieuw = codes[-1]
    with fasen("onboarding: keys, ceremony, databases"):
        fed = await lokaal.maak(
            map_,
            url,
            map_ / "tokens.toml",
            codes=codes,
            drempel=3,
            federatie_extra="oprf_burst = 1000000\nsignaal_burst = 1000000\n" + lokaal.ZONDER_PLAFOND,
        )
    gen = Generator(random.Random(seed), aandeel_zonder_bsn=0.1)
    # The joining region's existing cases, as case events on its region-local stream.
    t_import = time.perf_counter()
    nc = await verbind(url, "import")
    js = nc.jetstream()
    await zorg_voor_stroom(js, onderwerpen.regiostroom_config(nieuw, timedelta(days=7)))
    for i in range(aantal):
        p = gen.persoon()
        req = aanmelding(p, f"import-{i}")
        casus = S.Casus(casus_id=str(uuid.uuid4()), status=S.CASUS_STATUS_IN_BEHANDELING)
        for persoon in req.betrokkenen:
            casus.betrokkenen.add().CopyFrom(persoon)
            casus.betrokkenen[-1].betrokkene_id = str(uuid.uuid4())
        g = G.CasusGebeurtenis(
            gebeurtenis_id=str(uuid.uuid4()),
            soort=G.GEBEURTENIS_SOORT_AANGEMELD,
            casus=casus,
            volgnummer=i + 1,
        )
        await js.publish(onderwerpen.gebeurtenis(nieuw, "casus", casus.casus_id), g.SerializeToString())
    await nc.close()
    fasen.seconden["onboarding: import case events"] = time.perf_counter() - t_import

    andere = {c: fed.regios[c] for c in codes if c != nieuw}
    processen = Processen(lokaal.LokaleFederatie(andere, url, fed.beheerder, fed.drempel))
    try:
        with fasen("onboarding: start 4 nodes, latency before"):
            await processen.start()
            bench = Bench(processen.kanalen, tokens)
            a, b = codes[0], codes[1]
            await bench.registreer(a, gen.persoon())
            await rustig(url, bench.signalen)
            gezien: set[str] = set()
            voor = await _latenties(bench, gen, a, b, 10, gezien)

        nieuwe = Processen(
            lokaal.LokaleFederatie({nieuw: fed.regios[nieuw]}, url, fed.beheerder, fed.drempel)
        )
        start = time.perf_counter()
        await nieuwe.start()
        try:
            tijdens = await _latenties(bench, gen, a, b, 10, gezien)
            bench.signalen += aantal
            await rustig(url, bench.signalen)
            duur = time.perf_counter() - start
            fasen.seconden["onboarding: join until all checked"] = duur
        finally:
            await nieuwe.stop(hard=True)  # the figures are taken; the data is thrown away
    finally:
        with fasen("onboarding: stop"):
            await processen.stop(hard=True)
            await nats.stop()
            shutil.rmtree(map_, ignore_errors=True)
    return {
        "cases": aantal,
        "seconden_tot_alles_gecontroleerd": duur,
        "per_seconde": aantal / duur,
        "latentie_ms_andere_regios_voor": voor,
        "latentie_ms_andere_regios_tijdens": tijdens,
    }


async def _latenties(
    bench: Bench, gen: Generator, a: str, b: str, n: int, gezien: set[str]
) -> dict[str, float]:
    """A registration in ``a`` of a person ``b`` knows: ms until the match is on b's Volgen stream."""
    stroom = samenwerking_pb2_grpc.MatchServiceStub(bench.kanalen[b]).Volgen(
        M.VolgenRequest(), metadata=bench.md("pr")
    )
    tijden = []
    try:
        for _ in range(n):
            p = gen.persoon()
            await bench.registreer(b, p)
            start = time.perf_counter()
            await bench.registreer(a, p)
            while True:
                w = await asyncio.wait_for(stroom.read(), 600)
                assert isinstance(w, M.MatchWijziging)
                if w.nieuw and w.match.andere_regio == a and w.match.match_id not in gezien:
                    gezien.add(w.match.match_id)
                    break
            tijden.append((time.perf_counter() - start) * 1000)
    finally:
        stroom.cancel()
    return {"p50": statistics.median(tijden), "max": max(tijden), "n": len(tijden)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--regios", type=int, nargs="+", default=[3, 10, 31])
    p.add_argument(
        "--herhalingen", type=int, default=20, help="registrations per size, spread over the regions"
    )
    p.add_argument("--onboarding", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--json", type=Path)
    ns = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    fasen = Fasen("schaal")
    uit: dict[str, Any] = {"schaal": [], "onboarding": None}
    print(
        f"{'regions':>8} {'MB/node':>8} {'start s/node':>13} {'all started s':>14} "
        f"{'all checked p50 ms':>19} {'max ms':>8}"
    )
    for n in ns.regios:
        r = asyncio.run(schaal(n, ns.herhalingen, ns.seed, fasen))
        uit["schaal"].append(r)
        t = r["signaal_door_allen_gecontroleerd_ms"]
        print(
            f"{n:>8} {r['geheugen_mb_per_node']:>8.0f} {r['opstart_s_per_node']:>13.2f} "
            f"{r['opstart_s_alle_nodes']:>14.1f} "
            f"{t['p50']:>19.1f} {t['max']:>8.1f}",
            flush=True,
        )
    if ns.onboarding:
        o = asyncio.run(onboarding(ns.onboarding, ns.seed, fasen))
        uit["onboarding"] = o
        print(
            f"\nonboarding {o['cases']:,} cases: all checked by 4 regions after "
            f"{o['seconden_tot_alles_gecontroleerd']:.0f} s "
            f"({o['per_seconde']:.0f}/s); a registration between two other regions: p50 "
            f"{o['latentie_ms_andere_regios_voor']['p50']:.0f} ms before, "
            f"{o['latentie_ms_andere_regios_tijdens']['p50']:.0f} ms during (max "
            f"{o['latentie_ms_andere_regios_tijdens']['max']:.0f} ms)"
        )
    if ns.json:
        doc = json.loads(ns.json.read_text()) if ns.json.exists() else {}
        doc.update(uit)
        ns.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(fasen.tekst())
    fasen.bewaar(ns.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
