"""What both directions of signalering share."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.db import Database
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.federatie.register import Federatie
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.jetstream import zorg_voor_stroom
from gedeeld.klok import Klok
from gedeeld.natsconfig import stroom
from gedeeld.verwerkingslog import Actor, Verwerkingslog

MAX_BERICHT = 64 * 1024
SIGNALEN = "SIGNALEN"
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
    js: JetStreamContext
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


async def zorg_voor_federatiestromen(ctx: Context) -> None:
    """SIGNALEN and this region's TREFFER stream (on a hub, the beheer user made them already)."""
    age = ctx.stroom_max_age.total_seconds()
    await zorg_voor_stroom(
        ctx.js,
        StreamConfig(
            name=SIGNALEN,
            subjects=["zvh.signaal.*"],
            max_age=age,
            duplicate_window=3600,
            max_msg_size=MAX_BERICHT,
        ),
    )
    await zorg_voor_stroom(
        ctx.js,
        StreamConfig(
            name=stroom("treffer", ctx.regio),
            subjects=[f"zvh.treffer.{ctx.regio}"],
            max_age=age,
            duplicate_window=3600,
            max_msg_size=MAX_BERICHT,
        ),
    )
