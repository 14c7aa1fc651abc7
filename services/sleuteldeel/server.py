"""Wiring of the sleuteldeel service: a NATS subscription on zvh.oprf.<regio>."""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.beheer.tracing import TraceContext, huidig, in_trace, voor_bericht
from gedeeld.config import NodeConfig
from gedeeld.db import Database, Groepscommit
from gedeeld.federatie import laad
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.federatie.snelheidslimiet import Limiet
from gedeeld.fouten import ConfigError
from gedeeld.klok import SysteemKlok
from gedeeld.nats import onderwerpen
from gedeeld.nats.verbinding import bevestig
from gedeeld.verwerkingslog import Actor, Handeling, Verwerkingslog
from services.sleuteldeel.service import Bescherming, Sleuteldeelhouder
from services.sleuteldeel.signalen import StroomSignaalTeller
from services.sleuteldeel.store import Boekhouding

log = logging.getLogger("zvh.sleuteldeel")


class SleuteldeelServer:
    """Serves requests concurrently (bounded), so one slow audit write does not stall others."""

    def __init__(self, nc: Client, houder: Sleuteldeelhouder, *, gelijktijdig: int = 8) -> None:
        self._nc = nc
        self._houder = houder
        self._ruimte = asyncio.Semaphore(gelijktijdig)
        self._taken: set[asyncio.Task[None]] = set()
        self._sub: Subscription | None = None

    @property
    def draait(self) -> bool:
        return self._sub is not None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(
            onderwerpen.oprf(self._houder.regio), queue="sleuteldeel", cb=self._ontvang
        )
        await bevestig(self._nc)

    async def _ontvang(self, msg: Msg) -> None:
        await self._ruimte.acquire()
        taak = asyncio.create_task(self._beantwoord(msg))
        self._taken.add(taak)
        taak.add_done_callback(self._taken.discard)

    async def _beantwoord(self, msg: Msg) -> None:
        try:
            with in_trace(voor_bericht(msg.headers)):
                antwoord = await self._houder.behandel(msg.data)
            if msg.reply:
                await msg.respond(antwoord)
        except Exception as exc:
            log.warning("oprf answer not sent", extra={"error": type(exc).__name__})
        finally:
            self._ruimte.release()

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        if self._taken:
            await asyncio.wait(self._taken, timeout=5)


def bescherming(cfg: NodeConfig) -> Bescherming:
    if cfg.federatie is None:
        return Bescherming()
    f = cfg.federatie
    return Bescherming(
        dagplafond=f.oprf_dagplafond,
        verhouding=f.oprf_verhouding,
        verhouding_basis=f.oprf_verhouding_basis,
        verhouding_dagen=f.oprf_verhouding_dagen,
        onboarding_max=f.oprf_onboarding_max,
        onboarding_max_dagen=f.oprf_onboarding_max_dagen,
    )


async def start_sleuteldeel(cfg: NodeConfig, db: Database, nc: Client) -> SleuteldeelServer:
    """Load the registry and this region's share, and serve zvh.oprf.<regio>."""
    if cfg.federatie is None:
        raise ConfigError("federatie", "the sleuteldeel service needs a [federatie] section")
    federatie = laad(cfg.federatie.register, cfg.federatie.beheerder_sleutel)
    sleutels = RegioSleutels.lees(cfg.federatie.sleutels)
    deel = federatie.laad_sleuteldeel(cfg.regio, sleutels.hpke, cfg.federatie.sleutels)
    vorige = None
    if cfg.federatie.vorig_register is not None:  # two epochs side by side while keys switch
        oud = laad(cfg.federatie.vorig_register, cfg.federatie.beheerder_sleutel)
        if oud.epoch == federatie.epoch:
            raise ConfigError(
                "federatie.vorig_register", f"holds the same epoch ({oud.epoch}) as federatie.register"
            )
        vorige = (oud, oud.laad_sleuteldeel(cfg.regio, sleutels.hpke, cfg.federatie.sleutels))
    klok = SysteemKlok()
    verwerkingslog = Verwerkingslog.uit_sleutelbestand(cfg.verwerkingslog_sleutel, klok)
    activiteit = cfg.activiteiten.get(
        "pseudonimisering", f"urn:zvh:{cfg.regio}:verwerkingsactiviteit:pseudonimisering"
    )

    # Concurrent requests' audit records share one transaction; each answer still waits for its own.
    groep = Groepscommit(db)

    async def audit(aanvrager: str, aantal: int, resultaat: str) -> None:
        trace = huidig() or TraceContext.new()  # the requester's trace, taken before the hand-over

        async def record(s: AsyncSession) -> None:
            await verwerkingslog.vastleggen(
                s,
                trace=trace,
                handeling=Handeling("oprf_evaluatie", activiteit, "regio", aanvrager),
                actor=Actor(f"regio:{aanvrager}", "regio", "pseudonimisering voor de federatie"),
                resultaat=resultaat,
                details={"elementen": aantal},
            )

        await groep.schrijf(record)

    f = cfg.federatie
    houder = Sleuteldeelhouder(
        cfg.regio,
        federatie,
        deel,
        sleutels.ondertekening,
        Limiet(f.oprf_per_seconde, f.oprf_burst),
        boekhouding=Boekhouding(db),
        bescherming=bescherming(cfg),
        # The signals each region published, counted on the hub's SIGNALEN stream (the ratio check).
        signalen=StroomSignaalTeller(nc.jetstream(domain=cfg.nats.hub_domein or None)),
        auditor=audit,
        vorige=vorige,
    )
    server = SleuteldeelServer(nc, houder)
    await server.start()
    log.info("sleuteldeel serving", extra={"regio": cfg.regio, "epoch": federatie.epoch, "index": deel.index})
    return server
