"""``zvh-node --dienst``: a region's services each in their own process (here: their own ``Node``),
as in production, working together through the region's database and NATS."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gedeeld import config as configuratie
from gedeeld.fouten import ConfigError
from gedeeld.nats.server import NatsServer
from gedeeld.zvh.v1 import casus_pb2_grpc, samenwerking_pb2_grpc
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from services.node.opstart import DIENSTEN, Node
from tests.conftest import begrensd
from tests.federatie import knooppunten
from tests.federatie.knooppunten import IC, PR, als
from tests.voorbeelden import aanmelding, betrokkene


@contextlib.asynccontextmanager
async def los(cfg_pad: Path) -> AsyncIterator[dict[str, Node]]:
    """wvv's four services, each a Node of its own, with their own gRPC ports."""
    cfg = dataclasses.replace(
        configuratie.laad(cfg_pad, env={}),
        signalering_listen="127.0.0.1:0",
        samenwerking_listen="127.0.0.1:0",
    )
    nodes: dict[str, Node] = {}
    try:
        for dienst in DIENSTEN:
            nodes[dienst] = Node(cfg, [dienst])
            await nodes[dienst].start()
        yield nodes
    finally:
        for dienst, node in reversed(nodes.items()):
            await begrensd(f"stop {dienst}", node.stop(grace=1))


async def test_services_in_separate_processes_match_and_stream(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    fed = await knooppunten.maak(tmp_path, nats_server.url, n=3, t=2)
    await fed.start("arnhem")
    await fed.start("haaglanden")
    try:
        async with los(fed.regios["wvv"].cfg_pad) as wvv:
            assert {d: n.diensten() for d, n in wvv.items()} == {d: {d: True} for d in DIENSTEN}
            for dienst, node in wvv.items():
                assert (node.grpc is not None) == (dienst != "sleuteldeel")
            casus_grpc = wvv["casusregister"].grpc
            match_grpc = wvv["samenwerking"].grpc
            assert casus_grpc is not None and match_grpc is not None
            async with (
                grpc.aio.insecure_channel(f"127.0.0.1:{casus_grpc.port}") as casus_kanaal,
                grpc.aio.insecure_channel(f"127.0.0.1:{match_grpc.port}") as match_kanaal,
            ):
                matches = samenwerking_pb2_grpc.MatchServiceStub(match_kanaal)
                volgen = matches.Volgen(M.VolgenRequest(), metadata=als(PR))
                antwoord = await casus_pb2_grpc.CasusServiceStub(casus_kanaal).Aanmelden(
                    aanmelding(betrokkene()), metadata=als(IC)
                )
                await fed["arnhem"].aanmelden(aanmelding(betrokkene(voornamen="Jan")))
                # The match, recorded by the signalering process, reaches the samenwerking
                # process's Volgen stream (through signalering's MatchGevonden event).
                wijziging = await asyncio.wait_for(anext(aiter(volgen)), 30)
                volgen.cancel()
                assert wijziging.nieuw
                assert wijziging.match.casus_id == antwoord.casus.casus_id
                assert wijziging.match.andere_regio == "arnhem"
                # The casusregister process does not serve MatchService.
                with pytest.raises(grpc.aio.AioRpcError) as fout:
                    await samenwerking_pb2_grpc.MatchServiceStub(casus_kanaal).Lijst(
                        M.LijstRequest(), metadata=als(PR)
                    )
                assert fout.value.code() == grpc.StatusCode.UNIMPLEMENTED
            # Each process reports only its own service.
            doc = await wvv["sleuteldeel"].status.verzamel()
            assert [c["detail"] for c in doc["checks"] if c["name"] == "services"] == ["running: sleuteldeel"]
    finally:
        await fed.stop("arnhem")
        await fed.stop("haaglanden")


def test_a_single_service_needs_the_regions_nats(tmp_path: Path) -> None:
    pad = tmp_path / "wvv.toml"
    pad.write_text('regio = "wvv"\n')
    cfg = configuratie.laad(pad, env={})
    with pytest.raises(ConfigError) as fout:
        Node(cfg, ["casusregister"])
    assert fout.value.message == "nats.url: a single service (--dienst) needs the region's NATS server"
    with pytest.raises(ConfigError) as fout:
        Node(cfg, ["ontvanger"])
    assert fout.value.setting == "--dienst"
