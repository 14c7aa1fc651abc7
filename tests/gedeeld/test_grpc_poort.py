"""Undecodable requests: every method of every service on a node's gRPC port answers bytes that are
no protobuf message for it with INVALID_ARGUMENT and a Dutch message, not UNKNOWN with the
decoder's exception text (gedeeld/grpc/server.py). Sent as raw bytes over a real channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health_pb2

from gedeeld.grpc.status import field_violations
from gedeeld.nats.server import NatsServer
from gedeeld.zvh.v1 import casus_pb2, samenwerking_pb2, vraag_pb2
from tests import grpc_stubs
from tests.conftest import begrensd
from tests.federatie import knooppunten
from tests.federatie.knooppunten import IC, Regio, als

# A length-delimited field 1 that announces 5 bytes and brings 2; a varint that never ends.
ONZIN = [b"\x0a\x05ab", b"\xff\xff\xff\xff"]


def dienst(d: object) -> ServiceDescriptor:
    # types-grpcio-health-checking types its descriptors as google._upb's classes, types-protobuf
    # as google.protobuf.descriptor's: at runtime these are one and the same.
    assert isinstance(d, ServiceDescriptor), d
    return d


DIENSTEN: list[ServiceDescriptor] = [
    casus_pb2.DESCRIPTOR.services_by_name["CasusService"],
    samenwerking_pb2.DESCRIPTOR.services_by_name["MatchService"],
    vraag_pb2.DESCRIPTOR.services_by_name["VraagService"],
    dienst(health_pb2.DESCRIPTOR.services_by_name["Health"]),
]
METHODEN = [(d.full_name, m.name, m.server_streaming) for d in DIENSTEN for m in d.methods]


@pytest.fixture
async def wvv(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Regio]:
    """One region's node with all its services (the others need not run for this)."""
    fed = await knooppunten.maak(tmp_path, nats_server.url)
    await fed.start("wvv")
    try:
        yield fed["wvv"]
    finally:
        await begrensd("stop wvv", fed.stop("wvv"))


async def weigering(kanaal: grpc.aio.Channel, pad: str, data: bytes, *, stroom: bool) -> grpc.aio.AioRpcError:
    """The error of one raw call (a server-streaming one read to its end)."""
    # No serializers: the bytes go out as they are, replies come back as bytes.
    try:
        if stroom:
            rauwe_stroom: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = kanaal.unary_stream(pad)
            async for _ in rauwe_stroom(data, metadata=als(IC), timeout=10):
                pass
        else:
            rauw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = kanaal.unary_unary(pad)
            await rauw(data, metadata=als(IC), timeout=10)
    except grpc.aio.AioRpcError as e:
        return e
    raise AssertionError(f"{pad} accepted {data!r}")


def test_the_list_covers_every_user_service() -> None:
    assert {s for s, _, _ in METHODEN} >= {
        "zvh.v1.CasusService",
        "zvh.v1.MatchService",
        "zvh.v1.VraagService",
        "grpc.health.v1.Health",
    }
    assert len(METHODEN) >= 17


async def test_garbage_bytes_get_invalid_argument_on_every_method(wvv: Regio) -> None:
    kanaal = wvv.kanaal
    assert kanaal is not None
    # The same raw channel with valid bytes works: what follows is about the bytes only.
    zoeken: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = kanaal.unary_unary("/zvh.v1.CasusService/Zoeken")
    geldig = await zoeken(b"", metadata=als(IC), timeout=10)
    assert isinstance(geldig, bytes)
    for service, methode, stroom in METHODEN:
        for onzin in ONZIN:
            pad = f"/{service}/{methode}"
            e = await weigering(kanaal, pad, onzin, stroom=stroom)
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (pad, e.code(), e.details())
            details = e.details() or ""
            assert details.startswith("het verzoek kon niet worden gelezen"), (pad, details)
            assert methode in details
            for techniek in ("Error", "Traceback", "parse", "Exception", "wire"):
                assert techniek not in details, (pad, details)


async def test_garbage_in_a_request_stream_gets_invalid_argument(wvv: Regio) -> None:
    kanaal = wvv.kanaal
    assert kanaal is not None
    pad = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    rauw: grpc.aio.StreamStreamMultiCallable[bytes, bytes] = kanaal.stream_stream(pad)
    call = rauw(iter([ONZIN[0]]), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call.read()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.value.details() or "").startswith("het verzoek kon niet worden gelezen")


async def test_valid_requests_pass_the_gate_on_every_kind_of_method(wvv: Regio) -> None:
    """The gate rebuilds each handler: unary, a server stream written with ``context.write``
    (health Watch), one that yields (MatchService.Volgen), and a bidirectional stream
    (reflection) still answer valid requests."""
    from grpc_reflection.v1alpha import reflection_pb2

    from gedeeld.zvh.v1 import samenwerking_pb2_grpc

    kanaal = wvv.kanaal
    assert kanaal is not None
    health = grpc_stubs.health(kanaal)
    check = await health.Check(health_pb2.HealthCheckRequest(service="zvh.v1.CasusService"), timeout=10)
    assert check.status == health_pb2.HealthCheckResponse.SERVING
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert (await grpc_stubs.volgende(watch)).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()

    # The servicer's own generator runs: its validation (not the gate's) answers a bad token.
    volgen = samenwerking_pb2_grpc.MatchServiceStub(kanaal).Volgen(
        samenwerking_pb2.VolgenRequest(resume_token="v2.onzin"), metadata=als(IC), timeout=10
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await volgen.read()
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(e.value.trailing_metadata())] == ["resume_token"]

    info = grpc_stubs.reflectie(kanaal).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
    )
    antwoord = await grpc_stubs.volgende(info)
    namen = {s.name for s in antwoord.list_services_response.service}
    assert {"zvh.v1.CasusService", "zvh.v1.MatchService", "zvh.v1.VraagService"} <= namen
