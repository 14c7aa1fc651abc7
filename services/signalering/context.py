"""What both directions of signalering share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError, ServiceUnavailableError
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld import onderwerpen
from gedeeld.db import Database
from gedeeld.errors import UnavailableError
from gedeeld.federatie.poort import Poort
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.federatie.register import Federatie
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.jetstream import DodeBrieven, StroomLezer, Uitkomst, zorg_voor_stroom
from gedeeld.klok import Klok
from gedeeld.snelheidslimiet import Limiet
from gedeeld.verwerkingslog import Actor, Verwerkingslog
from gedeeld.zvh.v1 import federatie_pb2 as F

# From the one table of federation subjects and streams (kept here for older imports).
SYSTEEM = Actor("systeem:signalering", "systeem", "interregionale signalering (WGS)")


@dataclass(frozen=True)
class Activiteiten:
    pseudonimisering: str
    matching: str
    bevraging: str

    @classmethod
    def standaard(cls, regio: str) -> Activiteiten:
        return cls(
            f"urn:zvh:{regio}:verwerkingsactiviteit:signalering",
            f"urn:zvh:{regio}:verwerkingsactiviteit:matching",
            f"urn:zvh:{regio}:verwerkingsactiviteit:bevraging",
        )


class IndexWachter:
    """Lets a query wait for a casus that signalering has not indexed yet (bounded).

    ``versie`` counts index changes; waiting on a change of the version seen
    *before* the lookup cannot miss an update that lands in between.
    """

    def __init__(self) -> None:
        self.versie = 0
        self._conditie = asyncio.Condition()

    async def gewijzigd(self) -> None:
        async with self._conditie:
            self.versie += 1
            self._conditie.notify_all()

    async def wacht_na(self, versie: int, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._conditie:
                await self._conditie.wait_for(lambda: self.versie != versie)


if TYPE_CHECKING:
    from services.signalering.store import MatchRij


class MatchWaarnemer(Protocol):
    """Told of matches inside signalering's own transaction (samenwerking keeps their workflow)."""

    async def gevonden(self, s: AsyncSession, match: MatchRij) -> None: ...

    async def gesloten(self, s: AsyncSession, match_ids: list[str]) -> None: ...


@dataclass
class Context:
    regio: str
    db: Database
    js: JetStreamContext  # the federation's streams: SIGNALEN, TREFFER_<R>, OVERLEG_<R>
    federatie: Federatie
    sleutels: RegioSleutels
    pseudonimiseerder: Pseudonimiseerder
    klok: Klok
    log: Verwerkingslog
    activiteiten: Activiteiten
    contact: str
    geldigheid: timedelta = timedelta(days=730)  # as a Verwijsindex signal
    stroom_max_age: timedelta = timedelta(days=14)
    index: IndexWachter = field(default_factory=IndexWachter)
    waarnemer: MatchWaarnemer | None = None
    # The region-local stream REGIO_<R>; differs from ``js`` when the node sits behind its leaf node.
    js_lokaal: JetStreamContext | None = None
    # Set: the federation streams live on the hub (JetStream domain), created by its beheer user.
    hub_domein: str = ""
    # While the federation switches keys: the previous epoch, served side by side (every person
    # indexed and signalled under both, docs/sleutelceremonie.md).
    vorige: tuple[Federatie, Pseudonimiseerder] | None = None
    # Per kind, the rate and burst accepted from one other region (None: poort's defaults).
    limieten: dict[onderwerpen.Soort, Limiet] | None = None
    poort: Poort = field(init=False)

    def __post_init__(self) -> None:
        self.poort = Poort(self.regio, self.federatie, self.limieten)

    @property
    def lokaal(self) -> JetStreamContext:
        return self.js_lokaal or self.js

    @property
    def pseudonimiseerders(self) -> dict[int, Pseudonimiseerder]:
        """Per epoch served, newest first."""
        uit = {self.federatie.epoch: self.pseudonimiseerder}
        if self.vorige is not None:
            uit[self.vorige[0].epoch] = self.vorige[1]
        return uit

    def token_epochs(self, epoch: int, tokens: Iterable[F.SignaalToken]) -> dict[bytes, int]:
        """The tokens of a signal or query (``epoch``: the message's) whose epoch this node serves,
        each with its epoch."""
        bediend = self.pseudonimiseerders
        return {t.token: e for t in tokens if (e := t.epoch or epoch) in bediend}

    @property
    def dood(self) -> DodeBrieven:
        """Dead letters stay in the region: its own stream REGIO_<R> (gedeeld/jetstream.py)."""
        return DodeBrieven(self.lokaal, self.regio)

    def federatielezer(
        self,
        soort: onderwerpen.Soort,
        handler: Callable[[Msg], Awaitable[Uitkomst]],
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


class HubNietBereikbaar(UnavailableError):
    """The federation hub does not answer through the region's NATS server, or lacks a stream."""


async def zorg_voor_federatiestroom(ctx: Context, config: StreamConfig, *, wachttijd: float = 10.0) -> None:
    """Create or update a federation stream; on a hub (``hub_domein``) only check that it exists:
    a region's user may not create streams there (``zvhctl federatie nats-stromen`` does)."""
    if not ctx.hub_domein:
        await zorg_voor_stroom(ctx.js, config)
        return
    naam = config.name or ""
    eind = asyncio.get_running_loop().time() + wachttijd
    while True:
        try:
            await ctx.js.stream_info(naam)
            return
        except NotFoundError:
            raise HubNietBereikbaar(
                f"stream {naam} does not exist on the federation hub (JetStream domain "
                f"{ctx.hub_domein!r}): the hub's operators create it with `zvhctl federatie nats-stromen`"
            ) from None
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError) as exc:
            # The leaf's link to the hub may still be coming up right after the leaf starts.
            if asyncio.get_running_loop().time() >= eind:
                raise HubNietBereikbaar(
                    f"the federation hub (JetStream domain {ctx.hub_domein!r}) does not answer through "
                    f"nats.url within {wachttijd:.0f}s ({type(exc).__name__}): is the leaf node "
                    "connected to the hub?"
                ) from None
            await asyncio.sleep(0.5)


def stroomconfig(ctx: Context, spec: onderwerpen.Stroomspec) -> StreamConfig:
    """A federation stream as the embedded default creates it (onderwerpen's spec)."""
    # On a hub this only names the stream (the operators made it, with its byte limit).
    return spec.config(
        max_age=ctx.stroom_max_age, afzenders=len(ctx.federatie.regios), bytes_begrensd=bool(ctx.hub_domein)
    )


async def zorg_voor_federatiestromen(ctx: Context) -> None:
    """SIGNALEN and this region's TREFFER stream (on a hub, the beheer user made them already)."""
    await zorg_voor_federatiestroom(ctx, stroomconfig(ctx, onderwerpen.signalen()))
    await zorg_voor_federatiestroom(ctx, stroomconfig(ctx, onderwerpen.inbox("treffer", ctx.regio)))
