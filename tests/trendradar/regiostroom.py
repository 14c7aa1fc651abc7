"""The region's events as their owners publish them, and the trend radar's consumers of them.

Events go on ``regio.<r>.…`` of the stream ``REGIO_<R>`` with ``Nats-Msg-Id`` = a fresh id, as
casusregister's outbox relay and signalering's and samenwerking's outboxes publish them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nats.js import JetStreamContext
from sqlalchemy import select

from gedeeld.db import Database
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import DodeBrieven, StroomLezer, zorg_voor_stroom
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from services.trendradar.gebeurtenissen import DURABLES, Feitenbron
from services.trendradar.store import CasusFeitRij, MatchFeitRij, SamenwerkingFeitRij
from services.trendradar.tellen import Periode
from tests.voorbeelden import betrokkene

REGIO = "wvv"
NOVEMBER = Periode(2026, 11)
DAG = NOVEMBER.begin + timedelta(days=3)


async def publiceer(
    js: JetStreamContext, regio: str, bron: onderwerpen.Bron, soort: str, data: bytes
) -> None:
    ack = await js.publish(
        onderwerpen.gebeurtenis(regio, bron, soort), data, headers={"Nats-Msg-Id": str(uuid.uuid4())}
    )
    assert not ack.duplicate


@dataclass
class Radar:
    """The trend radar's three consumers on a real REGIO_WVV."""

    js: JetStreamContext
    db: Database
    lezers: dict[str, StroomLezer] = field(default_factory=dict)
    taken: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        lezers = Feitenbron(self.db, REGIO).lezers(self.js, DodeBrieven(self.js, REGIO))
        self.lezers = {lezer.consument[1]: lezer for lezer in lezers}
        self.taken = [asyncio.create_task(lezer.draai()) for lezer in lezers]

    async def stop(self) -> None:
        for t in self.taken:
            t.cancel()
        await asyncio.gather(*self.taken, return_exceptions=True)

    async def verwerkt(self, bron: onderwerpen.Bron, aantal: int) -> None:
        """Wait until the consumer of ``bron`` handled ``aantal`` messages (bounded)."""
        lezer = self.lezers[DURABLES[bron]]
        async with asyncio.timeout(20):
            # The consumer's own count is the only signal there is; it moves per handled message.
            while lezer.verwerkt < aantal:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    async def publiceer(self, bron: onderwerpen.Bron, soort: str, data: bytes) -> None:
        await publiceer(self.js, REGIO, bron, soort, data)


def casus_gebeurtenis(
    casus_id: str,
    versie: int,
    soort: int = G.GEBEURTENIS_SOORT_AANGEMELD,
    *,
    thema: int = S.THEMA_JEUGD,
    orientatie: int = S.ORIENTATIE_SYSTEEMGERICHT,
    aangemeld: datetime = DAG,
    afgesloten: datetime | None = None,
    personen: list[S.Betrokkene] | None = None,
    regio: str = REGIO,
) -> bytes:
    c = S.Casus(
        casus_id=casus_id,
        regio=regio,
        status=S.CASUS_STATUS_AFGESLOTEN if afgesloten else S.CASUS_STATUS_AANGEMELD,
        thema=thema,  # type: ignore[arg-type]
        orientatie=orientatie,  # type: ignore[arg-type]
        procesregisseur="pr-anna",
        versie=versie,
        betrokkenen=[betrokkene()] if personen is None else personen,
    )
    c.aangemeld_op.FromDatetime(aangemeld)
    c.gewijzigd_op.FromDatetime(afgesloten or aangemeld)
    if afgesloten is not None:
        c.afgesloten_op.FromDatetime(afgesloten)
    g = G.CasusGebeurtenis(gebeurtenis_id=str(uuid.uuid4()), volgnummer=versie, soort=soort, casus=c)  # type: ignore[arg-type]
    g.tijdstip.FromDatetime(afgesloten or aangemeld)
    return g.SerializeToString()


def gevonden(
    match_id: str, casus_id: str, moment: datetime, z: int = F.ZEKERHEID_ZEKER, types: str = "bsn"
) -> bytes:
    m = G.MatchGevonden(
        gebeurtenis_id=str(uuid.uuid4()),
        match_id=match_id,
        casus_id=casus_id,
        betrokkene_id=str(uuid.uuid4()),
        eigen_referentie=uuid.uuid4().hex,
        andere_regio="arnhem",
        andere_referentie=uuid.uuid4().hex,
        sleutel_types=types,
        zekerheid=z,
    )
    m.tijdstip.FromDatetime(moment)
    return m.SerializeToString()


def gestart(match_id: str, casus_id: str, gevonden_op: datetime, gestart_op: datetime | None) -> bytes:
    w = G.SamenwerkingGestart(gebeurtenis_id=str(uuid.uuid4()), match_id=match_id, casus_id=casus_id)
    w.gevonden_op.FromDatetime(gevonden_op)
    if gestart_op is not None:
        w.gestart_op.FromDatetime(gestart_op)
    return w.SerializeToString()


async def inhoud(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the trend radar's fact tables, in a fixed order."""
    uit: dict[str, list[tuple[object, ...]]] = {}
    async with db.lezen() as s:
        for model in (CasusFeitRij, MatchFeitRij, SamenwerkingFeitRij):
            tabel = model.__table__
            q = select(*tabel.columns).order_by(*tabel.primary_key.columns)  # type: ignore[attr-defined]
            uit[tabel.name] = [tuple(r) for r in await s.execute(q)]  # type: ignore[attr-defined]
    return uit


@contextlib.asynccontextmanager
async def draaiend(js: JetStreamContext, db: Database) -> AsyncIterator[Radar]:
    """REGIO_WVV made, the consumers running; stopped however the test ends."""
    await zorg_voor_stroom(js, onderwerpen.regiostroom_config(REGIO, timedelta(days=1)))
    r = Radar(js, db)
    r.start()
    try:
        yield r
    finally:
        await r.stop()
