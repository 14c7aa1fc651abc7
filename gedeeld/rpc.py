"""The wrapper around every unary RPC: trace, authenticate, authorise, map errors, measure.

Servicers subclass ``BeveiligdeService`` and decorate methods with ``@rpc``; the
method then receives an ``Aanroep`` (caller identity and trace) instead of the
raw context, so no servicer can forget a check.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from gedeeld import errors
from gedeeld.auth import Authenticator, Identiteit, Rol, autoriseer
from gedeeld.grpc_fouten import internal_status, status_code, to_status
from gedeeld.metrics import RPC_DUUR, RPC_TOTAAL
from gedeeld.tracing import HEADER, TraceContext, from_metadata
from gedeeld.verwerkingslog import Actor

log = logging.getLogger("zvh.rpc")

Req = TypeVar("Req")
Resp = TypeVar("Resp")


@dataclass(frozen=True)
class Aanroep:
    """One incoming call: who, and under which trace span."""

    identiteit: Identiteit
    trace: TraceContext
    methode: str

    @property
    def actor(self) -> Actor:
        """Who acted, for the verwerkingslog's audit record."""
        i = self.identiteit
        return Actor(i.gebruiker, i.rol.value, i.doel)


class BeveiligdeService:
    SERVICE: str = ""
    REGELS: Mapping[str, frozenset[Rol]] = {}

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator


Handler = Callable[[Any, Req, Aanroep], Awaitable[Resp]]


def rpc(fn: Handler[Req, Resp]) -> Callable[[Any, Req, grpc.aio.ServicerContext[Req, Resp]], Awaitable[Resp]]:
    naam = fn.__name__

    @functools.wraps(fn)
    async def wrapper(
        self: BeveiligdeService, request: Req, context: grpc.aio.ServicerContext[Req, Resp]
    ) -> Resp:
        start = time.perf_counter()
        trace = from_metadata(context.invocation_metadata())
        context.set_trailing_metadata(((HEADER, trace.traceparent),))
        code = grpc.StatusCode.OK
        try:
            ident = self._authenticator.authenticeer(context.invocation_metadata(), context.auth_context())
            autoriseer(ident, naam, self.REGELS)
            return await fn(self, request, Aanroep(ident, trace, naam))
        except errors.ZvhError as exc:
            code = status_code(exc)
            log.info(
                "rpc rejected",
                extra={
                    "method": naam,
                    "code": code.name,
                    "trace_id": trace.trace_id,
                    "error": type(exc).__name__,
                },
            )
            status = to_status(exc)
        except Exception:
            code = grpc.StatusCode.INTERNAL
            log.exception("rpc failed", extra={"method": naam, "trace_id": trace.trace_id})
            status = internal_status(trace.trace_id)
        finally:
            RPC_TOTAAL.labels(self.SERVICE, naam, code.name).inc()
            RPC_DUUR.labels(self.SERVICE, naam).observe(time.perf_counter() - start)
        await context.abort(
            code,
            status.message,
            trailing_metadata=(
                ("grpc-status-details-bin", status.SerializeToString()),
                (HEADER, trace.traceparent),
            ),
        )
        raise AssertionError("unreachable: context.abort raises")

    return wrapper


StroomHandler = Callable[[Any, Req, Aanroep], AsyncIterator[Resp]]


def rpc_stroom(
    fn: StroomHandler[Req, Resp],
) -> Callable[[Any, Req, grpc.aio.ServicerContext[Req, Resp]], AsyncIterator[Resp]]:
    """``@rpc`` for server-streaming methods: the same checks before the first message, and
    the same error mapping for an error raised while streaming."""
    naam = fn.__name__

    @functools.wraps(fn)
    async def wrapper(
        self: BeveiligdeService, request: Req, context: grpc.aio.ServicerContext[Req, Resp]
    ) -> AsyncIterator[Resp]:
        start = time.perf_counter()
        trace = from_metadata(context.invocation_metadata())
        code = grpc.StatusCode.OK
        status = None
        try:
            ident = self._authenticator.authenticeer(context.invocation_metadata(), context.auth_context())
            autoriseer(ident, naam, self.REGELS)
            async for bericht in fn(self, request, Aanroep(ident, trace, naam)):
                yield bericht
        except errors.ZvhError as exc:
            code = status_code(exc)
            log.info(
                "rpc rejected",
                extra={
                    "method": naam,
                    "code": code.name,
                    "trace_id": trace.trace_id,
                    "error": type(exc).__name__,
                },
            )
            status = to_status(exc)
        except Exception:
            code = grpc.StatusCode.INTERNAL
            log.exception("rpc failed", extra={"method": naam, "trace_id": trace.trace_id})
            status = internal_status(trace.trace_id)
        finally:
            RPC_TOTAAL.labels(self.SERVICE, naam, code.name).inc()
            RPC_DUUR.labels(self.SERVICE, naam).observe(time.perf_counter() - start)
        if status is not None:
            await context.abort(
                code,
                status.message,
                trailing_metadata=(
                    ("grpc-status-details-bin", status.SerializeToString()),
                    (HEADER, trace.traceparent),
                ),
            )

    return wrapper
