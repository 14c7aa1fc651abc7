"""Building a grpc.aio server the same way for every service: health, reflection,
optional (m)TLS, a bound on concurrent RPCs, graceful stop.

Every method of every service (also health and reflection) passes one gate first
(``_Poort``): with mutual TLS, the client certificate must be one of this region's users or
applications (gedeeld/grpc/clientcertificaat.py); and a request whose bytes are not a valid protobuf
message for the method gets INVALID_ARGUMENT with a Dutch message, not the UNKNOWN status with
the decoder's exception text that grpc.aio would give.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from gedeeld.beheer.metrics import CLIENTCERTIFICAAT_GEWEIGERD, RPC_TOTAAL
from gedeeld.config import TlsConfig
from gedeeld.fouten import ConfigError
from gedeeld.grpc.clientcertificaat import CertificaatGeweigerd, Clientbeleid

log = logging.getLogger("zvh.grpc")


class _Onleesbaar:
    """Stands in for a request whose bytes did not decode; the behaviour refuses it."""


_ONLEESBAAR = _Onleesbaar()


def _delen(methode: str) -> tuple[str, str]:
    service, _, naam = methode.lstrip("/").rpartition("/")
    return service, naam


class _Poort(grpc.aio.ServerInterceptor):
    """Wraps each method handler: certificate check, then safe request decoding."""

    def __init__(self, beleid: Clientbeleid | None) -> None:
        self._beleid = beleid

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(details)
        if handler is None:
            return None
        return _bewaakt(handler, str(details.method), self._beleid)


async def _weiger_certificaat(
    ctx: grpc.aio.ServicerContext[Any, Any], methode: str, fout: CertificaatGeweigerd
) -> None:
    service, naam = _delen(methode)
    CLIENTCERTIFICAAT_GEWEIGERD.labels(fout.reden).inc()
    RPC_TOTAAL.labels(service, naam, grpc.StatusCode.PERMISSION_DENIED.name).inc()
    # No names from the certificate: they may identify a person (a user certificate).
    log.warning("grpc client certificate refused", extra={"method": naam, "reden": fout.reden})
    await ctx.abort(grpc.StatusCode.PERMISSION_DENIED, fout.message)


async def _weiger_onleesbaar(ctx: grpc.aio.ServicerContext[Any, Any], methode: str, type_naam: str) -> None:
    service, naam = _delen(methode)
    RPC_TOTAAL.labels(service, naam, grpc.StatusCode.INVALID_ARGUMENT.name).inc()
    log.info("grpc request undecodable", extra={"method": naam})
    await ctx.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"het verzoek kon niet worden gelezen: de inhoud is geen geldig {type_naam}-bericht voor "
        f"{naam}; gebruik een client die met de zvh.v1-protocoldefinities werkt",
    )


def _bewaakt(
    handler: grpc.RpcMethodHandler[Any, Any], methode: str, beleid: Clientbeleid | None
) -> grpc.RpcMethodHandler[Any, Any]:
    h: Any = handler  # the behaviours' stub types are those of the sync API
    deserialiseer = h.request_deserializer
    soort = getattr(getattr(deserialiseer, "__self__", None), "DESCRIPTOR", None)
    type_naam = str(getattr(soort, "name", "protobuf"))

    def veilig(data: bytes) -> Any:
        if deserialiseer is None:
            return data
        try:
            return deserialiseer(data)
        except Exception:  # any decoder failure means the same: these bytes are no such message
            return _ONLEESBAAR

    async def poort(ctx: grpc.aio.ServicerContext[Any, Any]) -> None:
        if beleid is None:
            return
        try:
            beleid.controleer(ctx.auth_context())
        except CertificaatGeweigerd as fout:
            await _weiger_certificaat(ctx, methode, fout)

    async def lees_stroom(
        verzoeken: AsyncIterator[Any], ctx: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        async for verzoek in verzoeken:
            if verzoek is _ONLEESBAAR:
                await _weiger_onleesbaar(ctx, methode, type_naam)
            yield verzoek

    async def enkel(verzoek: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> None:
        await poort(ctx)
        if verzoek is _ONLEESBAAR:
            await _weiger_onleesbaar(ctx, methode, type_naam)

    async def _uitkomst(waarde: Any) -> Any:
        return await waarde if inspect.isawaitable(waarde) else waarde

    kwargs = {"request_deserializer": veilig, "response_serializer": h.response_serializer}
    if h.unary_unary is not None:
        binnen_uu = h.unary_unary

        async def unary_unary(verzoek: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await enkel(verzoek, ctx)
            return await _uitkomst(binnen_uu(verzoek, ctx))

        return grpc.unary_unary_rpc_method_handler(unary_unary, **kwargs)
    if h.unary_stream is not None:
        binnen_us = h.unary_stream
        if inspect.isasyncgenfunction(binnen_us):

            async def unary_stroom(
                verzoek: Any, ctx: grpc.aio.ServicerContext[Any, Any]
            ) -> AsyncIterator[Any]:
                await enkel(verzoek, ctx)
                async for antwoord in binnen_us(verzoek, ctx):
                    yield antwoord

            return grpc.unary_stream_rpc_method_handler(unary_stroom, **kwargs)

        async def unary_schrijver(verzoek: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await enkel(verzoek, ctx)  # a handler that writes with context.write (health Watch)
            return await _uitkomst(binnen_us(verzoek, ctx))

        return grpc.unary_stream_rpc_method_handler(unary_schrijver, **kwargs)
    if h.stream_unary is not None:
        binnen_su = h.stream_unary

        async def stroom_unary(verzoeken: AsyncIterator[Any], ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await poort(ctx)
            return await _uitkomst(binnen_su(lees_stroom(verzoeken, ctx), ctx))

        return grpc.stream_unary_rpc_method_handler(stroom_unary, **kwargs)
    binnen_ss = h.stream_stream
    if inspect.isasyncgenfunction(binnen_ss):

        async def stroom_stroom(
            verzoeken: AsyncIterator[Any], ctx: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            await poort(ctx)
            async for antwoord in binnen_ss(lees_stroom(verzoeken, ctx), ctx):
                yield antwoord

        return grpc.stream_stream_rpc_method_handler(stroom_stroom, **kwargs)

    async def stroom_schrijver(verzoeken: AsyncIterator[Any], ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await poort(ctx)
        return await _uitkomst(binnen_ss(lees_stroom(verzoeken, ctx), ctx))

    return grpc.stream_stream_rpc_method_handler(stroom_schrijver, **kwargs)


class GrpcServer:
    def __init__(
        self,
        listen: str,
        *,
        tls: TlsConfig | None,
        max_concurrent_rpcs: int,
        clienten: Clientbeleid | None = None,
    ) -> None:
        """``clienten``: which client certificates may call (gedeeld/grpc/clientcertificaat.py); required
        when ``tls.client_ca`` asks for client certificates."""
        if tls is not None and tls.client_ca is not None and clienten is None:
            raise ConfigError("tls.client_ca", "mutual TLS needs the region's client certificate policy")
        self.server = grpc.aio.server(
            maximum_concurrent_rpcs=max_concurrent_rpcs, interceptors=[_Poort(clienten)]
        )
        self.health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._listen = listen
        self._tls = tls
        self._names: list[str] = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        self.port = 0

    def voeg_toe(self, add: Callable[[object, grpc.aio.Server], None], servicer: object, naam: str) -> None:
        add(servicer, self.server)
        self._names.append(naam)

    async def start(self, *, klaar: bool = True) -> int:
        """Listen; health goes SERVING now, or with ``klaar()`` once the caller's other parts run."""
        reflection.enable_server_reflection([*self._names, reflection.SERVICE_NAME], self.server)
        try:
            if self._tls is None:
                self.port = self.server.add_insecure_port(self._listen)
            else:
                creds = grpc.ssl_server_credentials(
                    [(self._tls.key.read_bytes(), self._tls.cert.read_bytes())],
                    root_certificates=self._tls.client_ca.read_bytes() if self._tls.client_ca else None,
                    require_client_auth=self._tls.client_ca is not None,
                )
                self.port = self.server.add_secure_port(self._listen, creds)
        except RuntimeError as exc:
            raise ConfigError("listen", f"cannot listen on {self._listen}: {exc}") from None
        await self.server.start()
        for naam in self._services():
            await self.health.set(
                naam,
                health_pb2.HealthCheckResponse.SERVING
                if klaar
                else health_pb2.HealthCheckResponse.NOT_SERVING,
            )
        return self.port

    async def klaar(self) -> None:
        for naam in self._services():
            await self.health.set(naam, health_pb2.HealthCheckResponse.SERVING)

    def _services(self) -> Sequence[str]:
        return ["", *self._names[1:]]

    async def stop(self, grace: float) -> None:
        """Health to NOT_SERVING first, then let in-flight calls finish within ``grace``."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
