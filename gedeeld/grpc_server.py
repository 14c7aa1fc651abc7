"""Building a grpc.aio server the same way for every service: health, reflection,
optional (m)TLS, a bound on concurrent RPCs, graceful stop."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from gedeeld.config import TlsConfig
from gedeeld.errors import ConfigError


class GrpcServer:
    def __init__(self, listen: str, *, tls: TlsConfig | None, max_concurrent_rpcs: int) -> None:
        self.server = grpc.aio.server(maximum_concurrent_rpcs=max_concurrent_rpcs)
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
