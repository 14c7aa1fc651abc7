"""``Koppeling``: one region's link to the federation, as every service that talks to it needs it.

Who the region is, its verified registry and key pair, the JetStream contexts of the federation's
streams (on the hub when ``hub_domein`` is set) and of its own stream ``REGIO_<R>``, the inbound
gate (``poort``) and the processing log. A service builds its own with ``uit_config``; services
share nothing else at run time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Self

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError, ServiceUnavailableError

from gedeeld.config import NodeConfig
from gedeeld.db import Database
from gedeeld.federatie.poort import Poort
from gedeeld.federatie.register import Federatie, laad
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.federatie.snelheidslimiet import Limiet
from gedeeld.fouten import ConfigError, UnavailableError
from gedeeld.klok import Klok, SysteemKlok
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import DodeBrieven, StroomLezer, Uitkomst, zorg_voor_stroom
from gedeeld.verwerkingslog import Verwerkingslog


class HubNietBereikbaar(UnavailableError):
    """The federation hub does not answer through the region's NATS server, or lacks a stream."""


@dataclass(kw_only=True)
class Koppeling:
    regio: str
    db: Database
    js: JetStreamContext  # the federation's streams: SIGNALEN, TRENDS, TREFFER_<R>, OVERLEG_<R>
    federatie: Federatie
    sleutels: RegioSleutels
    klok: Klok
    log: Verwerkingslog
    stroom_max_age: timedelta = timedelta(days=14)
    # The region-local stream REGIO_<R>; differs from ``js`` when the node sits behind its leaf node.
    js_lokaal: JetStreamContext | None = None
    # Set: the federation streams live on the hub (JetStream domain), created by its beheer user.
    hub_domein: str = ""
    # Per kind, the rate and burst accepted from one other region (None: poort's defaults).
    limieten: dict[onderwerpen.Soort, Limiet] | None = None
    poort: Poort = field(init=False)

    def __post_init__(self) -> None:
        self.poort = Poort(self.regio, self.federatie, self.limieten)

    @classmethod
    def uit_config(
        cls,
        cfg: NodeConfig,
        db: Database,
        nc: Client,
        klok: Klok | None = None,
        *,
        federatie: Federatie | None = None,
        sleutels: RegioSleutels | None = None,
        **extra: Any,
    ) -> Self:
        """From the node's ``[federatie]`` section: the registry and keys read and verified now, so
        a wrong file stops the node with its name (``federatie``, ``sleutels``: already read by
        the caller, from the same section). ``extra``: a subclass's own fields."""
        f = cfg.federatie
        if f is None:
            raise ConfigError("federatie", "this service needs the [federatie] section")
        klok = klok or SysteemKlok()
        return cls(
            regio=cfg.regio,
            db=db,
            js=nc.jetstream(domain=cfg.nats.hub_domein or None),
            js_lokaal=nc.jetstream(),
            hub_domein=cfg.nats.hub_domein,
            federatie=federatie or laad(f.register, f.beheerder_sleutel),
            sleutels=sleutels or RegioSleutels.lees(f.sleutels),
            klok=klok,
            log=Verwerkingslog.uit_sleutelbestand(cfg.verwerkingslog_sleutel, klok),
            limieten={
                "signaal": Limiet(f.signaal_per_uur / 3600, f.signaal_burst),
                "treffer": Limiet(f.treffer_per_uur / 3600, f.treffer_burst),
                "overleg": Limiet(f.overleg_per_uur / 3600, f.overleg_burst),
            },
            **extra,
        )

    @property
    def lokaal(self) -> JetStreamContext:
        return self.js_lokaal or self.js

    @property
    def dood(self) -> DodeBrieven:
        """Dead letters stay in the region: its own stream REGIO_<R> (gedeeld/nats/jetstream.py)."""
        return DodeBrieven(self.lokaal, self.regio)

    def regiolezer(
        self,
        bron: onderwerpen.Bron,
        durable: str,
        handler: Callable[[Msg], Awaitable[Uitkomst]] | None = None,
        *,
        batch_handler: Callable[[list[Msg]], Awaitable[list[Uitkomst]]] | None = None,
    ) -> StroomLezer:
        """A durable consumer of one service's events on the region's own stream ``REGIO_<R>``
        (``durable``: the reading service's own name for it)."""
        return StroomLezer(
            self.lokaal,
            stroom=onderwerpen.regiostroom(self.regio),
            subject=onderwerpen.gebeurtenissen(self.regio, bron),
            durable=durable,
            handler=handler,
            batch_handler=batch_handler,
            dood=self.dood,
        )

    def federatielezer(
        self,
        soort: onderwerpen.Soort,
        handler: Callable[[Msg], Awaitable[Uitkomst]] | None = None,
        *,
        batch_handler: Callable[[list[Msg]], Awaitable[list[Uitkomst]]] | None = None,
    ) -> StroomLezer:
        """The durable consumer this region reads one federation stream with (onderwerpen's
        spec). Embedded, the node creates it; on a hub (``hub_domein``) it only binds to the
        consumer the hub's operators made."""
        stroomnaam = onderwerpen.SIGNALEN if soort == "signaal" else onderwerpen.stroom(soort, self.regio)
        spec = onderwerpen.consument(stroomnaam, self.regio)
        return StroomLezer(
            self.js,
            stroom=spec.stroom,
            subject=spec.filter,
            durable=spec.durable,
            handler=handler,
            batch_handler=batch_handler,
            config=spec.config(),
            alleen_binden=bool(self.hub_domein),
            soort=soort,
            dood=self.dood,
        )

    def stroomconfig(self, spec: onderwerpen.Stroomspec) -> StreamConfig:
        """A federation stream as the embedded default creates it (onderwerpen's spec)."""
        # On a hub this only names the stream (the operators made it, with its byte limit).
        return spec.config(
            max_age=self.stroom_max_age,
            afzenders=len(self.federatie.regios),
            bytes_begrensd=bool(self.hub_domein),
        )

    async def zorg_voor_federatiestroom(self, config: StreamConfig, *, wachttijd: float = 10.0) -> None:
        """Create or update a federation stream; on a hub (``hub_domein``) only check that it
        exists: a region's user may not create streams there (``zvhctl federatie nats-stromen``
        does)."""
        if not self.hub_domein:
            await zorg_voor_stroom(self.js, config)
            return
        naam = config.name or ""
        eind = asyncio.get_running_loop().time() + wachttijd
        while True:
            try:
                await self.js.stream_info(naam)
                return
            except NotFoundError:
                raise HubNietBereikbaar(
                    f"stream {naam} does not exist on the federation hub (JetStream domain "
                    f"{self.hub_domein!r}): the hub's operators create it with "
                    "`zvhctl federatie nats-stromen`"
                ) from None
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError) as exc:
                # The leaf's link to the hub may still be coming up right after the leaf starts.
                if asyncio.get_running_loop().time() >= eind:
                    raise HubNietBereikbaar(
                        f"the federation hub (JetStream domain {self.hub_domein!r}) does not answer "
                        f"through nats.url within {wachttijd:.0f}s ({type(exc).__name__}): is the leaf "
                        "node connected to the hub?"
                    ) from None
                await asyncio.sleep(0.5)
