"""Wiring of the casusregister service: gRPC server, outbox relay, retention job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from nats.aio.client import Client

from gedeeld.config import NodeConfig
from gedeeld.db import Database
from gedeeld.grpc.authenticatie import Authenticator, portaaltoegang
from gedeeld.grpc.clientcertificaat import clientbeleid
from gedeeld.grpc.server import GrpcServer
from gedeeld.klok import Klok, SysteemKlok
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import zorg_voor_stroom
from gedeeld.taken import stop_taken
from gedeeld.verwerkingslog import Verwerkingslog
from gedeeld.zvh.v1 import casus_pb2, casus_pb2_grpc
from services.casusregister import bewaartermijn
from services.casusregister.achterstand import Achterstandmeter
from services.casusregister.casussen import Activiteiten, Register
from services.casusregister.events import casus_outbox
from services.casusregister.inzage import Inzage
from services.casusregister.service import CasusService

log = logging.getLogger("zvh.casusregister")


def activiteiten(cfg: NodeConfig) -> Activiteiten:
    std = Activiteiten.standaard(cfg.regio)
    a = cfg.activiteiten
    return Activiteiten(
        registratie=a.get("casusregistratie", std.registratie),
        raadpleging=a.get("casusraadpleging", std.raadpleging),
        inzage=a.get("inzage", std.inzage),
        bewaartermijn=a.get("bewaartermijn", std.bewaartermijn),
    )


class Casusregister:
    def __init__(self, cfg: NodeConfig, db: Database, nc: Client, klok: Klok | None = None) -> None:
        self.cfg = cfg
        self.db = db
        self.klok = klok or SysteemKlok()
        self._js = nc.jetstream()
        self.relay = casus_outbox(db, self._js, cfg.regio, self.klok)
        self.register = Register(
            db,
            cfg.regio,
            Verwerkingslog.uit_sleutelbestand(cfg.verwerkingslog_sleutel, self.klok),
            self.klok,
            activiteiten(cfg),
            outbox=self.relay,
        )
        self.grpc = GrpcServer(
            cfg.casusregister.listen,
            tls=cfg.tls,
            max_concurrent_rpcs=cfg.casusregister.max_concurrent_rpcs,
            clienten=clientbeleid(cfg),
        )
        self.achterstand = Achterstandmeter(
            cfg.regio, self.relay.achterstand, cfg.casusregister.max_achterstand
        )
        p = cfg.portaal
        auth = Authenticator.uit_bestand(
            cfg.tokens, portaaltoegang(p.geheim if p else None, p.gebruikers if p else None)
        )
        servicer = CasusService(auth, self.register, Inzage(self.register), self.achterstand.rem)
        self.grpc.voeg_toe(
            casus_pb2_grpc.add_CasusServiceServicer_to_server,  # type: ignore[arg-type]
            servicer,
            casus_pb2.DESCRIPTOR.services_by_name["CasusService"].full_name,
        )
        self._taken: list[asyncio.Task[None]] = []

    @property
    def draait(self) -> bool:
        """Started, and none of its background tasks has ended."""
        return bool(self._taken) and not any(t.done() for t in self._taken)

    async def start(self, *, klaar: bool = True) -> int:
        await zorg_voor_stroom(
            self._js,
            onderwerpen.regiostroom_config(
                self.cfg.regio, timedelta(days=self.cfg.casusregister.gebeurtenis_max_age_dagen)
            ),
        )
        port = await self.grpc.start(klaar=klaar)
        if self.cfg.federatie is not None and self.cfg.federatie.vorig_register is not None:
            # The federation switches keys: signalering re-pseudonymises every active casus.
            aantal = await self.register.herpseudonimiseer()
            log.info("active cases queued for re-pseudonymisation", extra={"casussen": aantal})
        self._taken = [
            asyncio.create_task(self.relay.draai(), name="outbox-relay"),
            asyncio.create_task(self._bewaartermijn_periodiek(), name="bewaartermijn"),
        ]
        log.info("casusregister serving", extra={"regio": self.cfg.regio, "port": port})
        return port

    async def _bewaartermijn_periodiek(self) -> None:
        termijn = timedelta(days=self.cfg.casusregister.bewaartermijn_dagen)
        while True:
            try:
                r = await bewaartermijn.uitvoeren(self.register, termijn)
                log.info("bewaartermijn run", extra={"casussen": r.casussen, "betrokkenen": r.betrokkenen})
            except Exception as exc:
                log.warning("bewaartermijn run failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.cfg.casusregister.bewaartermijn_interval_uren * 3600)

    async def stop(self, grace: float = 5.0) -> None:
        await self.grpc.stop(grace)
        await stop_taken(self._taken)
        # One last drain, so events committed by the final calls are not left waiting.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.relay.publiceer_batch(), 2)
