"""Catching up: how fast a consumer of the region's own events reads a backlog.

A node that was down finds its region's events waiting on ``REGIO_<R>``. Case events are the
busiest (one per registration and change); the trend radar's casus consumer keeps each fetched
batch in one transaction (``samen_of_los``, gedeeld/nats/jetstream.py). This script puts N case
events on a real nats-server's ``REGIO_WVV`` and times that consumer reading all of them into a
fresh SQLite database: batched as it runs, and one transaction per event as before (the reader
without its batch handler). Rounds alternate, so a slower machine moment hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nats.js.errors import NotFoundError

from gedeeld import migraties
from gedeeld.db import Database
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import DodeBrieven, zorg_voor_stroom
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from services.trendradar.gebeurtenissen import DURABLES, Feitenbron

REGIO = "wvv"


def gebeurtenis(moment: datetime) -> bytes:
    """A case event as casusregister's outbox publishes it (no persons: the radar drops them)."""
    c = S.Casus(casus_id=str(uuid.uuid4()), regio=REGIO, thema=S.THEMA_JEUGD, versie=1)
    c.aangemeld_op.FromDatetime(moment)
    g = G.CasusGebeurtenis(
        gebeurtenis_id=str(uuid.uuid4()), volgnummer=1, soort=G.GEBEURTENIS_SOORT_AANGEMELD, casus=c
    )
    g.tijdstip.FromDatetime(moment)
    return g.SerializeToString()


async def lees_alles(url: str, map_: Path, n: int, batched: bool, ronde: int) -> float:
    """Seconds for the casus consumer to handle all ``n`` waiting events into a fresh database."""
    db = Database(f"sqlite:///{map_ / f'ronde-{ronde}.db'}")
    await migraties.upgrade(db, "trendradar")
    nc = await verbind(url, "bench-inhalen")
    js = nc.jetstream()
    try:
        # A consumer made anew reads the stream from its start: the whole backlog.
        stroom, durable = onderwerpen.regiostroom(REGIO), DURABLES["casus"]
        with contextlib.suppress(NotFoundError):  # absent the first time
            await js.delete_consumer(stroom, durable)
        [lezer] = [
            lz
            for lz in Feitenbron(db, REGIO).lezers(js, DodeBrieven(js, REGIO))
            if lz.consument[1] == durable
        ]
        if not batched:
            lezer._batch_handler = None  # the one-transaction-per-event path
        begin = time.perf_counter()
        taak = asyncio.create_task(lezer.draai())
        try:
            async with asyncio.timeout(600):
                while lezer.verwerkt < n:  # noqa: ASYNC110 - the reader's own count is the signal
                    await asyncio.sleep(0.01)
            return time.perf_counter() - begin
        finally:
            taak.cancel()
            await asyncio.gather(taak, return_exceptions=True)
    finally:
        await nc.close()
        await db.close()


async def meet(n: int, rondes: int) -> dict[str, list[float]]:
    map_ = Path(tempfile.mkdtemp(prefix="zvh-bench-inhalen-"))
    server = NatsServer(map_ / "nats")
    url = await server.start()
    try:
        nc = await verbind(url, "bench-inhalen-vuller")
        js = nc.jetstream()
        await zorg_voor_stroom(js, onderwerpen.regiostroom_config(REGIO, timedelta(days=1)))
        moment = datetime(2026, 11, 2, tzinfo=UTC)
        subject = onderwerpen.gebeurtenis(REGIO, "casus", "aangemeld")
        for _ in range(n):
            await js.publish(subject, gebeurtenis(moment), headers={"Nats-Msg-Id": str(uuid.uuid4())})
        await nc.close()
        per_s: dict[str, list[float]] = {"batch": [], "los": []}
        for ronde in range(rondes):
            for batched in (ronde % 2 == 0, ronde % 2 == 1):  # alternate which goes first
                s = await lees_alles(url, map_, n, batched, len(per_s["batch"]) + len(per_s["los"]))
                per_s["batch" if batched else "los"].append(n / s)
        return per_s
    finally:
        await server.stop()
        shutil.rmtree(map_, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gebeurtenissen", type=int, default=2000)
    p.add_argument("--rondes", type=int, default=2)
    p.add_argument("--json", type=Path, help="merge the figures into this JSON file")
    ns = p.parse_args()
    logging.basicConfig(level=logging.ERROR)  # connection notices at shutdown are expected
    per_s = asyncio.run(meet(ns.gebeurtenissen, ns.rondes))
    batch, los = statistics.median(per_s["batch"]), statistics.median(per_s["los"])
    print(f"catching up: {ns.gebeurtenissen} waiting case events, trend radar's casus consumer, SQLite")
    for naam, sleutel, mediaan in (
        ("a fetched batch per transaction", "batch", batch),
        ("one transaction per event", "los", los),
    ):
        runs = ", ".join(f"{x:.0f}" for x in per_s[sleutel])
        print(f"  {naam:<34}{mediaan:8.0f} events/s  (median of {runs})")
    print(f"  ratio                              {batch / los:8.2f}")
    if ns.json:
        doc = json.loads(ns.json.read_text()) if ns.json.exists() else {}
        doc["inhalen"] = {
            "gebeurtenissen": ns.gebeurtenissen,
            "batch_per_s": round(batch, 1),
            "los_per_s": round(los, 1),
            "verhouding": round(batch / los, 2),
        }
        ns.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
