"""Wiring of the portal: uvicorn in the node's event loop, the gRPC channel to the node,
the e-mail notifier. ``zvh-node`` starts it when the configuration has ``[portaal]``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import grpc
import uvicorn
from cryptography import x509

from gedeeld.config import PortaalConfig, TlsConfig
from gedeeld.fouten import ConfigError
from gedeeld.grpc.authenticatie import lees_of_maak_portaalgeheim
from services.portaal.app import Omgeving, maak_app, met_koppen
from services.portaal.beveiliging import Sessies
from services.portaal.gebruikers import Gebruikers
from services.portaal.klant import Klant
from services.portaal.melding import Melder
from services.portaal.oidc import OidcKlant

log = logging.getLogger("zvh.portaal")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the node owns SIGTERM/SIGINT and stops us."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Portaal:
    def __init__(self, cfg: PortaalConfig, regio: str, node_adres: str, tls: TlsConfig | None = None) -> None:
        self.cfg = cfg
        self.regio = regio
        self._node_adres = node_adres
        self._tls = tls
        self._kanaal: grpc.aio.Channel | None = None
        self._server: _Server | None = None
        self._taken: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.oidc: OidcKlant | None = None
        self.melder: Melder | None = None
        self.port = 0

    @property
    def url(self) -> str:
        host = self.cfg.listen.rsplit(":", 1)[0]
        return self.cfg.publieke_url or f"http://{host}:{self.port}"

    @property
    def draait(self) -> bool:
        return bool(self._taken) and not any(t.done() for t in self._taken)

    async def start(self) -> int:
        geheim = await asyncio.to_thread(lees_of_maak_portaalgeheim, self.cfg.geheim)
        tls = await asyncio.to_thread(self._tls_instellingen)
        # grpc.aio channels belong to the running loop: made here, not in the file-reading thread.
        self._kanaal = (
            grpc.aio.insecure_channel(self._node_adres)
            if tls is None
            else grpc.aio.secure_channel(self._node_adres, tls[0], options=tls[1])
        )
        klant = Klant(self._kanaal, geheim, tls=tls is not None)
        gebruikers = Gebruikers(
            self.cfg.gebruikers, self.cfg.max_pogingen, self.cfg.vergrendeling_minuten * 60.0
        )
        self.oidc = OidcKlant(self.cfg.oidc) if self.cfg.oidc is not None else None
        omg = Omgeving(
            regio=self.regio,
            klant=klant,
            gebruikers=gebruikers,
            sessies=Sessies(self.cfg.sessie_minuten * 60.0),
            # One cookie name per region: two portals on one host do not overwrite each other's.
            cookie=f"zvh_portaal_{self.regio}",
            cookie_secure=self.cfg.cookie_secure,
            stop=self._stop,
            oidc=self.oidc,
            publieke_url=self.cfg.publieke_url,
        )
        extra = f" {self.cfg.oidc.issuer}" if self.cfg.oidc is not None else ""
        app = met_koppen(
            maak_app(omg), hsts=self.cfg.publieke_url.startswith("https://"), form_action_extra=extra
        )
        host, poort = self.cfg.listen.rsplit(":", 1)
        config = uvicorn.Config(
            app,
            host=host.strip("[]"),
            port=int(poort),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        self._server = _Server(config)
        taak = asyncio.create_task(self._server.serve(), name="portaal-http")
        while not self._server.started:
            if taak.done():
                taak.result()  # raises the start-up error (port taken, ...)
                raise OSError(f"portaal could not listen on {self.cfg.listen}")
            await asyncio.sleep(0.02)  # uvicorn offers no event for "listening"
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self._taken = [taak]
        if self.cfg.smtp is not None:
            self.melder = Melder(
                klant,
                gebruikers,
                self.cfg.smtp,
                self.regio,
                self.url,
                self.cfg.gebruikers.with_name(self.cfg.gebruikers.stem + ".melding-positie"),
            )
            self._taken.append(asyncio.create_task(self.melder.draai(self._stop), name="portaal-melding"))
        log.info("portaal serving", extra={"regio": self.regio, "port": self.port})
        return self.port

    def _tls_instellingen(self) -> tuple[grpc.ChannelCredentials, list[tuple[str, str]]] | None:
        """Loopback to the node's own gRPC port; with the node's [tls] over TLS, presenting the
        portal's application certificate (``portaal.cert``/``key``) as client certificate (mTLS)
        and checking the server against ``portaal.grpc_ca`` or ``tls.client_ca``. The person is
        still named by the portal token."""
        if self._tls is None:
            return None
        ca = self.cfg.grpc_ca or self._tls.client_ca
        if ca is None:
            raise ConfigError("portaal.grpc_ca", "is required with [tls] and no tls.client_ca")
        if (self.cfg.cert is None) != (self.cfg.key is None):
            raise ConfigError("portaal.cert", "portaal.cert and portaal.key go together")
        if (
            self.cfg.cert is None
            and self._tls.client_ca is not None
            and self._tls.clientcertificaten == "regio"
        ):
            # The node accepts only its region's user and application certificates as gRPC clients.
            raise ConfigError(
                "portaal.cert",
                "the node asks for client certificates: give the portal an application certificate of "
                "this region (zvhctl certs --regio <regio> --toepassing portaal) as portaal.cert/key",
            )
        eigen_cert = self.cfg.cert or self._tls.cert
        eigen_key = self.cfg.key or self._tls.key
        # The node's own server certificate names the host to check (loopback does not).
        cert = x509.load_pem_x509_certificate(self._tls.cert.read_bytes())
        creds = grpc.ssl_channel_credentials(
            root_certificates=ca.read_bytes(),
            private_key=eigen_key.read_bytes(),
            certificate_chain=eigen_cert.read_bytes(),
        )
        opties: list[tuple[str, str]] = []
        try:
            namen = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns = namen.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            dns = []
        if dns:
            # The node's certificate names the node, not 127.0.0.1: check the server by that name.
            opties.append(("grpc.ssl_target_name_override", dns[0]))
        return creds, opties

    async def stop(self) -> None:
        self._stop.set()  # ends the live inbox streams, so uvicorn's shutdown does not wait on them
        if self._server is not None:
            self._server.should_exit = True
        for taak in self._taken:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(taak, 10)
        if self._kanaal is not None:
            await self._kanaal.close()
        if self.oidc is not None:
            await self.oidc.sluit()
