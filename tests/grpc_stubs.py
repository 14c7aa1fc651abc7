"""Typed async stubs for the gRPC services of grpcio-health-checking and grpcio-reflection.

Their type stubs (types-grpcio-health-checking, types-grpcio-reflection) fall short: HealthStub is
declared without its methods, and ServerReflectionStub takes only a synchronous channel with a
method typed as ``binascii.Incomplete``. The generated stubs of our own services need none of this:
``CasusServiceStub(aio_kanaal)`` is typed as ``CasusServiceAsyncStub`` by mypy-protobuf (annotate a
stub you keep with that type, not with ``CasusServiceStub``, whose methods are synchronous). And one
helper for every server stream: ``volgende`` reads the next message with its type.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

T = TypeVar("T")


async def volgende(stroom: grpc.aio.UnaryStreamCall[Any, T] | grpc.aio.StreamStreamCall[Any, T]) -> T:
    """The next message of a server stream; the stream ending instead fails the test."""
    bericht = await stroom.read()
    if bericht is grpc.aio.EOF:
        raise AssertionError("the stream ended")
    # grpc-stubs type EOF as object, so read() is object | T: what is not EOF is a T.
    return cast(T, bericht)


class HealthAsyncStub(Protocol):
    Check: grpc.aio.UnaryUnaryMultiCallable[health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse]
    Watch: grpc.aio.UnaryStreamMultiCallable[health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse]


class ServerReflectionAsyncStub(Protocol):
    ServerReflectionInfo: grpc.aio.StreamStreamMultiCallable[
        reflection_pb2.ServerReflectionRequest, reflection_pb2.ServerReflectionResponse
    ]


def health(kanaal: grpc.aio.Channel) -> HealthAsyncStub:
    """grpc_health's own HealthStub on an async channel, with its methods' types."""
    return cast(HealthAsyncStub, health_pb2_grpc.HealthStub(kanaal))


def reflectie(kanaal: grpc.aio.Channel) -> ServerReflectionAsyncStub:
    """grpc_reflection's own ServerReflectionStub on an async channel, with its method's type."""
    # The stub works on any channel; its type stub says grpc.Channel only.
    stub = reflection_pb2_grpc.ServerReflectionStub(kanaal)  # type: ignore[arg-type]
    return cast(ServerReflectionAsyncStub, stub)
