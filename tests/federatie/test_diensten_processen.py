"""``zvh-node --dienst``: wvv's four services as four operating-system processes, as deployed.

Signalering (one process) records a match and tells samenwerking (another process) through its
MatchGevonden event on the region's stream; samenwerking's ``Volgen`` delivers it at once (its own
consumer commits to its own tables and wakes the stream), not on a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from nats.aio.msg import Msg

from gedeeld.nats import onderwerpen
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import casus_pb2_grpc, samenwerking_pb2_grpc
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from services.node.opstart import DIENSTEN
from tests.conftest import begrensd
from tests.federatie import knooppunten
from tests.federatie.knooppunten import IC, PR, als
from tests.voorbeelden import aanmelding, betrokkene

BIN = Path(sys.executable).parent
# The old hand-over let Volgen find a match written by another process on its 5 s re-read; an
# event-driven one delivers within milliseconds. The bound leaves room for a loaded machine.
BINNEN = 2.0


@contextlib.asynccontextmanager
async def processen(cfg_pad: Path) -> AsyncIterator[dict[str, int | None]]:
    """One ``zvh-node --dienst`` process per service, started in order; their gRPC ports."""
    procs: list[asyncio.subprocess.Process] = []
    poorten: dict[str, int | None] = {}
    try:
        for dienst in DIENSTEN:
            # Each process's log next to its config: what to read when this test fails.
            log = (cfg_pad.parent / f"{dienst}.log").open("ab")
            proc = await asyncio.create_subprocess_exec(
                str(BIN / "zvh-node"),
                "--config",
                str(cfg_pad),
                "--dienst",
                dienst,
                "--grace",
                "1",
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
            log.close()
            procs.append(proc)
            assert proc.stdout is not None
            regel = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            assert regel.startswith(f"zvh-node wvv: {dienst}"), regel
            poorten[dienst] = (
                int(regel.split("gRPC on port ")[1].split(",")[0]) if "gRPC on port" in regel else None
            )
        yield poorten
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            await begrensd("stop a service process", proc.wait(), 30)


@pytest.mark.timeout(240)
async def test_a_match_reaches_volgen_in_another_process_without_polling(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    fed = await knooppunten.maak(tmp_path, nats_server.url, n=2, t=2)
    cfg_pad = fed.regios["wvv"].cfg_pad
    with cfg_pad.open("a") as f:
        f.write('[signalering]\nlisten = "127.0.0.1:0"\n[samenwerking]\nlisten = "127.0.0.1:0"\n')
    nc = await verbind(nats_server.url, "toeschouwer")
    loop = asyncio.get_running_loop()
    gevonden: asyncio.Future[tuple[float, Msg]] = loop.create_future()

    async def bij_gevonden(msg: Msg) -> None:
        if not gevonden.done():
            gevonden.set_result((loop.time(), msg))

    await nc.subscribe(onderwerpen.gebeurtenis("wvv", "match", "gevonden"), cb=bij_gevonden)
    await fed.start("arnhem")  # the other region, and the second key-share holder (t = 2)
    try:
        async with processen(cfg_pad) as poorten:
            casus_poort, match_poort = poorten["casusregister"], poorten["samenwerking"]
            assert casus_poort is not None and match_poort is not None and poorten["sleuteldeel"] is None
            async with (
                grpc.aio.insecure_channel(f"127.0.0.1:{casus_poort}") as casus_kanaal,
                grpc.aio.insecure_channel(f"127.0.0.1:{match_poort}") as match_kanaal,
            ):
                matches = samenwerking_pb2_grpc.MatchServiceStub(match_kanaal)
                await matches.Lijst(M.LijstRequest(), metadata=als(PR))  # the process serves
                volgen = matches.Volgen(M.VolgenRequest(), metadata=als(PR))
                eerste = asyncio.ensure_future(anext(aiter(volgen)))
                await fed["arnhem"].aanmelden(aanmelding(betrokkene(voornamen="Jan")))
                casus = await casus_pb2_grpc.CasusServiceStub(casus_kanaal).Aanmelden(
                    aanmelding(betrokkene()), metadata=als(IC)
                )
                # Signalering's process committed the match and published its event (bounded:
                # pseudonymisation by two regions, the signal, the other region's treffer).
                gezien, msg = await asyncio.wait_for(gevonden, 90)
                event = G.MatchGevonden.FromString(msg.data)
                try:
                    wijziging = await asyncio.wait_for(eerste, max(0.0, gezien + BINNEN - loop.time()))
                except TimeoutError:
                    pytest.fail(
                        f"Volgen did not deliver the match within {BINNEN} s of its MatchGevonden event"
                    )
                finally:
                    volgen.cancel()
                assert wijziging.nieuw
                assert wijziging.match.match_id == event.match_id
                assert wijziging.match.casus_id == casus.casus.casus_id == event.casus_id
                assert wijziging.match.andere_regio == "arnhem"
    finally:
        await begrensd("stop arnhem", fed.stop("arnhem"))
        await nc.close()
