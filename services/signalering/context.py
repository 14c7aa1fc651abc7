"""What both directions of signalering share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from gedeeld.federatie.koppeling import Koppeling
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.federatie.register import Federatie
from gedeeld.nats import onderwerpen
from gedeeld.nats.outbox import Outbox
from gedeeld.verwerkingslog import Actor
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.store import OutboxRij

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


@dataclass(kw_only=True)
class Context(Koppeling):
    """Signalering's link to the federation: the shared ``Koppeling`` and its own parts."""

    pseudonimiseerder: Pseudonimiseerder
    activiteiten: Activiteiten
    contact: str
    geldigheid: timedelta = timedelta(days=730)  # as a Verwijsindex signal
    index: IndexWachter = field(default_factory=IndexWachter)
    # Region-local events (MatchGevonden, MatchGesloten, SignaalReferentie), written in the
    # transaction that records the change: the only way other services learn of matches.
    outbox: Outbox[OutboxRij] = field(init=False)
    # While the federation switches keys: the previous epoch, served side by side (every person
    # indexed and signalled under both, docs/sleutelceremonie.md).
    vorige: tuple[Federatie, Pseudonimiseerder] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.outbox = Outbox(OutboxRij, self.db, self.lokaal, self.regio, "signalering", self.klok)

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


async def zorg_voor_federatiestromen(ctx: Context) -> None:
    """SIGNALEN and this region's TREFFER stream (on a hub, the beheer user made them already)."""
    await ctx.zorg_voor_federatiestroom(ctx.stroomconfig(onderwerpen.signalen()))
    await ctx.zorg_voor_federatiestroom(ctx.stroomconfig(onderwerpen.inbox("treffer", ctx.regio)))
