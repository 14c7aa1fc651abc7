"""Wiring of the portal: uvicorn in the node's event loop, the gRPC channel to the node,
the e-mail notifier. ``zvh-node`` starts it when the configuration has ``[portaal]``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import grpc
import uvicorn

from gedeeld.auth import lees_of_maak_portaalgeheim
from gedeeld.config import PortaalConfig
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
    def __init__(self, cfg: PortaalConfig, regio: str, node_adres: str) -> None:
        self.cfg = cfg
        self.regio = regio
        self._node_adres = node_adres
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
        # Loopback to the node's own gRPC port (the in-process default has no TLS on it).
        self._kanaal = grpc.aio.insecure_channel(self._node_adres)
        klant = Klant(self._kanaal, geheim)
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
