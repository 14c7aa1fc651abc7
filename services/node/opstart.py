"""``zvh-node``: run a region's node.

Embedded default: all services in one process, SQLite, and a nats-server that
the node starts and stops itself. SIGTERM/SIGINT: health goes NOT_SERVING,
in-flight calls finish (grace period), then everything closes in order.
Migrations are an explicit step (``zvhctl db upgrade``); the node refuses to
start on a database that is not at the current revision.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Collection
from pathlib import Path

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from gedeeld import config as configuratie
from gedeeld import migraties
from gedeeld.beheer import logregels
from gedeeld.beheer.eindpunt import BeheerServer
from gedeeld.config import NodeConfig
from gedeeld.db import Database
from gedeeld.federatie import laad
from gedeeld.federatie.koppeling import Koppeling
from gedeeld.fouten import ConfigError, UnavailableError
from gedeeld.grpc.authenticatie import Authenticator, portaaltoegang
from gedeeld.grpc.clientcertificaat import clientbeleid
from gedeeld.grpc.server import GrpcServer
from gedeeld.nats.hubconfig import inbox_prefix
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.pki.tls import controleer_oin, nats_tls_context
from gedeeld.verwerkingslog.model import Verwerking
from gedeeld.zvh.v1 import (
    samenwerking_pb2,
    samenwerking_pb2_grpc,
    trend_pb2,
    trend_pb2_grpc,
    vraag_pb2,
    vraag_pb2_grpc,
)
from services.casusregister.server import Casusregister
from services.node.status import StatusVerzamelaar, zonder_wachtwoord
from services.portaal.server import Portaal
from services.samenwerking.server import Samenwerking
from services.samenwerking.service import MatchService
from services.signalering.server import Signalering, bouw_signalering
from services.signalering.service import VraagService
from services.sleuteldeel.server import SleuteldeelServer, start_sleuteldeel
from services.trendradar.server import Trendradar
from services.trendradar.service import TrendService

log = logging.getLogger("zvh.node")

COMPONENTEN = ("verwerkingslog", "casusregister", "signalering", "samenwerking", "sleuteldeel", "trendradar")
DIENSTEN = ("casusregister", "sleuteldeel", "signalering", "samenwerking")


async def controleer_schema(db: Database) -> None:
    url = db.engine.url
    if (
        url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not await asyncio.to_thread(Path(url.database).exists)
    ):
        # Checked before connecting: a failed aiosqlite connect leaves a thread behind that
        # prints a traceback when the loop closes, and opening would create an empty file.
        raise ConfigError(
            "database.url", f"{url.database} does not exist: run `zvhctl db upgrade` to create it"
        )
    for component in COMPONENTEN:
        try:
            huidig = await migraties.huidige_revisie(db, component)
        except (DBAPIError, OSError) as exc:
            raise ConfigError(
                "database.url",
                f"cannot open the database ({type(exc).__name__}); check the URL, "
                "and run `zvhctl db upgrade` to create it",
            ) from None
        laatste = migraties.revisies(component)[-1]
        if huidig != laatste:
            raise ConfigError(
                "database.url",
                f"schema of {component} is at {huidig or 'nothing'}, expected {laatste}: "
                "run `zvhctl db upgrade` first",
            )


async def controleer_verwerkingslog_sleutel(db: Database, pad: Path) -> None:
    """A missing verwerkingslog key is created on a fresh database only. Once the log holds entries,
    a new key would silently cut every data subject's past entries off from new ones (inzage)."""
    if await asyncio.to_thread(pad.exists):
        return
    async with db.lezen() as s:
        aantal = int((await s.execute(select(func.count()).select_from(Verwerking))).scalar_one())
    if aantal:
        raise ConfigError(
            "verwerkingslog.sleutel",
            f"{pad} is missing, but the processing log already has entries made with it ({aantal}): "
            "restore the file from backup (a new key would break inzage for every past entry)",
        )


class Node:
    """A region's services in one process."""

    def __init__(self, cfg: NodeConfig, diensten: Collection[str] = DIENSTEN) -> None:
        onbekend = set(diensten) - set(DIENSTEN)
        if onbekend or not diensten:
            raise ConfigError("--dienst", f"must be one of {', '.join(DIENSTEN)}")
        if set(diensten) != set(DIENSTEN):
            if cfg.embedded_nats:
                raise ConfigError("nats.url", "a single service (--dienst) needs the region's NATS server")
            if cfg.federatie is None and set(diensten) & {"sleuteldeel", "signalering", "samenwerking"}:
                raise ConfigError("federatie.register", f"{', '.join(sorted(diensten))} needs [federatie]")
        self.gevraagd = frozenset(diensten)
        self.cfg = cfg
        self.grpc: GrpcServer | None = None
        self.nats_server: NatsServer | None = None
        self.casusregister: Casusregister | None = None
        self.sleuteldeel: SleuteldeelServer | None = None
        self.signalering: Signalering | None = None
        self.samenwerking: Samenwerking | None = None
        self.trendradar: Trendradar | None = None
        self.db = Database(cfg.database_url, synchronous=cfg.database_synchronous)
        self.nats_url = cfg.nats_url
        self.nc: Client | None = None
        self.status = StatusVerzamelaar(self, recente_fouten=logregels.recente_fouten)
        self.gereed = False
        self.beheer: BeheerServer | None = None
        self.portaal: Portaal | None = None

    def diensten(self) -> dict[str, bool]:
        """Each service of the node and whether it runs (its background tasks are alive)."""
        uit: dict[str, bool] = {}
        if self.casusregister is not None:
            uit["casusregister"] = self.casusregister.draait
        if self.sleuteldeel is not None:
            uit["sleuteldeel"] = self.sleuteldeel.draait
        if self.signalering is not None:
            # The trend radar rides along with signalering (same process, same streams).
            uit["signalering"] = self.signalering.draait and (
                self.trendradar is None or self.trendradar.draait
            )
        if self.samenwerking is not None:
            uit["samenwerking"] = self.samenwerking.draait
        if self.portaal is not None:
            uit["portaal"] = self.portaal.draait
        return uit

    def consumenten(self) -> list[tuple[str, str, JetStreamContext]]:
        lezers = [
            *(self.signalering.lezers if self.signalering else []),
            *(self.samenwerking.lezers if self.samenwerking else []),
            # Only once TRENDS exists: on a hub without it, trends are off, not the node unhealthy.
            *(self.trendradar.lezers if self.trendradar and self.trendradar.actief else []),
        ]
        return [lezer.consument for lezer in lezers]

    def controleer_certificaten(self) -> None:
        """The node's certificates are its own region's: their OIN is the registry's for it."""
        if self.cfg.federatie is None:
            return
        eigen = laad(self.cfg.federatie.register, self.cfg.federatie.beheerder_sleutel).regio(self.cfg.regio)
        if self.cfg.tls is not None:
            controleer_oin(self.cfg.tls.cert, "tls.cert", eigen.code, eigen.oin)
        if self.cfg.nats.tls is not None and self.cfg.nats.tls.cert is not None:
            controleer_oin(self.cfg.nats.tls.cert, "nats.cert", eigen.code, eigen.oin)

    async def start(self) -> None:
        await controleer_schema(self.db)
        await controleer_verwerkingslog_sleutel(self.db, self.cfg.verwerkingslog_sleutel)
        self.controleer_certificaten()
        if self.cfg.beheer_listen:
            # First, so that /healthz answers and /status explains while the rest starts.
            self.beheer = BeheerServer(
                self.cfg.beheer_listen, gereed=lambda: self.gereed, status=self.status.verzamel
            )
            await self.beheer.start()
        if self.cfg.embedded_nats:
            self.nats_server = NatsServer(self.cfg.data_dir / "nats")
            self.nats_url = await self.nats_server.start()
        credentials: dict[str, object] = {}
        if self.cfg.nats.gebruiker:
            credentials = {"user": self.cfg.nats.gebruiker, "password": self.cfg.nats.wachtwoord}
        if self.cfg.nats.tls is not None:
            credentials["tls"] = nats_tls_context(self.cfg.nats.tls)
        try:
            nc = await verbind(
                self.nats_url,
                f"zvh-node-{self.cfg.regio}",
                connect_timeout=5,
                inbox_prefix=inbox_prefix(self.cfg.regio),
                **credentials,
            )
        except Exception as exc:
            raise UnavailableError(f"cannot reach NATS at {self.nats_url}: {type(exc).__name__}") from None
        self.nc = nc
        d = self.gevraagd
        if self.cfg.federatie is not None and "sleuteldeel" in d:
            self.sleuteldeel = await start_sleuteldeel(self.cfg, self.db, nc)
        grpc_server: GrpcServer | None = None
        if "casusregister" in d:
            self.casusregister = Casusregister(self.cfg, self.db, nc)
            grpc_server = self.casusregister.grpc
        if self.cfg.federatie is not None and d & {"signalering", "samenwerking"}:
            if grpc_server is None:
                # A service on its own (production split): its own gRPC port.
                listen = self.cfg.signalering_listen if "signalering" in d else self.cfg.samenwerking_listen
                grpc_server = GrpcServer(
                    listen,
                    tls=self.cfg.tls,
                    max_concurrent_rpcs=self.cfg.casusregister.max_concurrent_rpcs,
                    clienten=clientbeleid(self.cfg),
                )
            p = self.cfg.portaal
            authenticator = Authenticator.uit_bestand(
                self.cfg.tokens, portaaltoegang(p.geheim if p else None, p.gebruikers if p else None)
            )
            if "signalering" in d:
                # Signalering tells samenwerking of matches only through its region-local events.
                signalering = bouw_signalering(self.cfg, self.db, nc)
                self.signalering = signalering
                if self.casusregister is not None:
                    # The region's backlog includes the case events signalering has yet to handle.
                    stroom_, durable, js = signalering.lezers[0].consument
                    self.casusregister.achterstand.volg_consument(js, stroom_, durable)
                grpc_server.voeg_toe(
                    vraag_pb2_grpc.add_VraagServiceServicer_to_server,  # type: ignore[arg-type]
                    VraagService(authenticator, signalering.vrager),
                    vraag_pb2.DESCRIPTOR.services_by_name["VraagService"].full_name,
                )
                # The trend radar rides along with signalering: same federation streams and registry.
                self.trendradar = Trendradar(Koppeling.uit_config(self.cfg, self.db, nc))
                grpc_server.voeg_toe(
                    trend_pb2_grpc.add_TrendServiceServicer_to_server,  # type: ignore[arg-type]
                    TrendService(authenticator, self.trendradar.ontvanger),
                    trend_pb2.DESCRIPTOR.services_by_name["TrendService"].full_name,
                )
            if "samenwerking" in d:
                # Its own link to the federation: nothing shared with signalering at run time.
                samenwerking = Samenwerking(Koppeling.uit_config(self.cfg, self.db, nc), nc)
                self.samenwerking = samenwerking
                grpc_server.voeg_toe(
                    samenwerking_pb2_grpc.add_MatchServiceServicer_to_server,  # type: ignore[arg-type]
                    MatchService(authenticator, samenwerking.register),
                    samenwerking_pb2.DESCRIPTOR.services_by_name["MatchService"].full_name,
                )
        self.grpc = grpc_server
        # Health says SERVING only once every service of the node runs (readiness probes).
        if self.casusregister is not None:
            await self.casusregister.start(klaar=False)
        elif self.grpc is not None:
            await self.grpc.start(klaar=False)
        if self.samenwerking is not None:
            await self.samenwerking.start()
        if self.signalering is not None:
            await self.signalering.start()
        if self.trendradar is not None:
            await self.trendradar.start()
        if self.grpc is not None:
            await self.grpc.klaar()
        if self.cfg.portaal is not None and self.grpc is not None:
            # A client of this node's own gRPC port, as any other client.
            self.portaal = Portaal(
                self.cfg.portaal, self.cfg.regio, f"127.0.0.1:{self.grpc.port}", tls=self.cfg.tls
            )
            await self.portaal.start()
        self.gereed = True

    async def stop(self, grace: float = 5.0) -> None:
        self.gereed = False
        if self.portaal is not None:
            await self.portaal.stop()
        if self.trendradar is not None:
            await self.trendradar.stop()
        if self.signalering is not None:
            await self.signalering.stop()
        if self.samenwerking is not None:
            await self.samenwerking.stop()
        if self.casusregister is not None:
            await self.casusregister.stop(grace)
        elif self.grpc is not None:
            await self.grpc.stop(grace)
        if self.sleuteldeel is not None:
            await self.sleuteldeel.stop()
        if self.nc is not None:
            await self.nc.drain()
        if self.nats_server is not None:
            await self.nats_server.stop()
        if self.beheer is not None:
            await self.beheer.stop()
        await self.db.close()


async def draai(cfg: NodeConfig, grace: float, diensten: Collection[str] = DIENSTEN) -> None:
    node = Node(cfg, diensten)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
        delen = [f"zvh-node {cfg.regio}: {', '.join(d for d in DIENSTEN if d in node.gevraagd)}"]
        if node.grpc is not None:
            delen.append(f"gRPC on port {node.grpc.port}")
        delen.append(f"NATS {zonder_wachtwoord(node.nats_url)}")
        if node.beheer is not None:
            delen.append(f"admin on port {node.beheer.port}")
        if node.portaal is not None:
            delen.append(f"portaal at {node.portaal.url}")
        print(", ".join(delen), flush=True)
        await stop.wait()
        log.info("stopping", extra={"regio": cfg.regio})
    finally:
        await node.stop(grace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zvh-node", description="Run a region's ZVH node.")
    parser.add_argument("--config", type=Path, help="the region's TOML configuration")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds for in-flight calls at stop")
    parser.add_argument(
        "--dienst",
        action="append",
        choices=DIENSTEN,
        help="run only this service (repeat for several); default: all of them in one process",
    )
    ns = parser.parse_args(argv)
    try:
        cfg = configuratie.laad(ns.config)
        logregels.configure(cfg.log_level)
        asyncio.run(draai(cfg, ns.grace, ns.dienst or DIENSTEN))
    except (ConfigError, UnavailableError) as exc:
        print(f"zvh-node: {exc.message}", file=sys.stderr)
        return 2
    except (TimeoutError, OSError, NatsError) as exc:
        # e.g. the NATS user may not create a stream, or a port is taken: one line, no traceback.
        print(f"zvh-node: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
