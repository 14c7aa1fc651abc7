"""The wrapper around every unary RPC: trace, authenticate, authorise, map errors, measure.

Servicers subclass ``BeveiligdeService`` and decorate methods with ``@rpc``; the
method then receives an ``Aanroep`` (caller identity and trace) instead of the
raw context, so no servicer can forget a check.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from gedeeld import fouten
from gedeeld.beheer.metrics import RPC_DUUR, RPC_TOTAAL
from gedeeld.beheer.tracing import HEADER, TraceContext, from_metadata, in_trace
from gedeeld.grpc.authenticatie import Authenticator, Identiteit, Rol, autoriseer
from gedeeld.grpc.status import internal_status, status_code, to_status
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
StroomHandler = Callable[[Any, Req, Aanroep], AsyncIterator[Resp]]


class _Afhandeling:
    """What both wrappers share: trace, identity, role check, error mapping, metrics."""

    def __init__(
        self, service: BeveiligdeService, naam: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        self.service, self.naam, self.context = service, naam, context
        self.start = time.perf_counter()
        self.trace = from_metadata(context.invocation_metadata())
        self.code = grpc.StatusCode.OK
        self.status: Any = None

    def aanroep(self) -> Aanroep:
        ctx = self.context
        ident = self.service._authenticator.authenticeer(ctx.invocation_metadata(), ctx.auth_context())
        autoriseer(ident, self.naam, self.service.REGELS)
        return Aanroep(ident, self.trace, self.naam)

    def fout(self, exc: Exception) -> None:
        if isinstance(exc, fouten.ZvhError):
            self.code = status_code(exc)
            log.info(
                "rpc rejected",
                extra={
                    "method": self.naam,
                    "code": self.code.name,
                    "trace_id": self.trace.trace_id,
                    "error": type(exc).__name__,
                },
            )
            self.status = to_status(exc)
        else:
            self.code = grpc.StatusCode.INTERNAL
            log.error(
                "rpc failed", exc_info=exc, extra={"method": self.naam, "trace_id": self.trace.trace_id}
            )
            self.status = internal_status(self.trace.trace_id)

    def meet(self) -> None:
        duur = time.perf_counter() - self.start
        RPC_TOTAAL.labels(self.service.SERVICE, self.naam, self.code.name).inc()
        RPC_DUUR.labels(self.service.SERVICE, self.naam).observe(duur)
        # One access line per call (ids and outcome only; the trace ids come from the context).
        log.info(
            "rpc handled",
            extra={
                "service": self.service.SERVICE,
                "method": self.naam,
                "code": self.code.name,
                "duration_ms": round(duur * 1000, 2),
            },
        )

    async def breek_af(self) -> None:
        if self.status is None:
            return
        await self.context.abort(
            self.code,
            self.status.message,
            trailing_metadata=(
                ("grpc-status-details-bin", self.status.SerializeToString()),
                (HEADER, self.trace.traceparent),
            ),
        )


def rpc(fn: Handler[Req, Resp]) -> Callable[[Any, Req, grpc.aio.ServicerContext[Req, Resp]], Awaitable[Resp]]:
    naam = fn.__name__

    @functools.wraps(fn)
    async def wrapper(
        self: BeveiligdeService, request: Req, context: grpc.aio.ServicerContext[Req, Resp]
    ) -> Resp:
        a = _Afhandeling(self, naam, context)
        context.set_trailing_metadata(((HEADER, a.trace.traceparent),))
        with in_trace(a.trace):
            try:
                return await fn(self, request, a.aanroep())
            except Exception as exc:
                a.fout(exc)
            finally:
                a.meet()
        await a.breek_af()
        raise AssertionError("unreachable: context.abort raises")

    return wrapper


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
        a = _Afhandeling(self, naam, context)
        # The trace is set per step, never across a ``yield``: the consumer may resume this
        # generator in another context, where resetting the variable would fail.
        stroom: AsyncIterator[Resp] | None = None
        try:
            with in_trace(a.trace):
                stroom = fn(self, request, a.aanroep())
            while True:
                with in_trace(a.trace):
                    try:
                        bericht = await anext(stroom)
                    except StopAsyncIteration:
                        break
                yield bericht
        except Exception as exc:
            with in_trace(a.trace):
                a.fout(exc)
        finally:
            with in_trace(a.trace):
                a.meet()
            aclose = getattr(stroom, "aclose", None)
            if aclose is not None:
                with in_trace(a.trace), contextlib.suppress(Exception):
                    await aclose()
        await a.breek_af()

    return wrapper
