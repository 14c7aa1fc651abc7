"""The region's own events, kept as counting facts: what the trend radar counts, and nothing more.

Three durable pull consumers on the region-local stream ``REGIO_<R>`` (gedeeld/nats/onderwerpen.py):

    regio.<r>.casus.*              CasusGebeurtenis     (casusregister)  -> tr_casus
    regio.<r>.match.gevonden       MatchGevonden        (signalering)    -> tr_match
    regio.<r>.samenwerking.gestart SamenwerkingGestart  (samenwerking)   -> tr_samenwerking

Of a case event only the casus id, theme, orientation and the registration and closing times are
kept: the persons in it (names, BSN, birth dates) are dropped here, before anything is written.
Of a match only its id, casus, confidence and time; of joint handling its match, casus and times.

Every handler is idempotent: a casus row changes only for a newer ``Casus.versie``; a match and
a joint handling are keyed by the match id, the first record stays (an earlier start time wins,
as samenwerking stamps it once). A redelivery, or the same fact from a second event, changes
nothing. A malformed event is refused (terminated, never redelivered), counted in
``zvh_trendradar_events_rejected_total`` by source and reason, and logged with its subject only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.beheer.metrics import TRENDRADAR_GEWEIGERD
from gedeeld.db import Database
from gedeeld.fouten import ZvhError
from gedeeld.identiteit.matchsleutels import SleutelType, is_zeker
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import DodeBrieven, StroomLezer, Uitkomst, samen_of_los
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from services.trendradar.store import CasusFeitRij, MatchFeitRij, SamenwerkingFeitRij

log = logging.getLogger("zvh.trendradar")

_F = TypeVar("_F")
_B = TypeVar("_B", bound=Message)
MAX_ID = 36  # casus and match ids are UUIDs
# Durable consumers on REGIO_<R>, one per source service.
DURABLES: dict[onderwerpen.Bron, str] = {
    "casus": "trendradar-casus",
    "match": "trendradar-match",
    "samenwerking": "trendradar-samenwerking",
}


class Onbruikbaar(ZvhError):
    """An event the trend radar cannot keep; ``reden`` is a fixed word for the metric and the log."""

    def __init__(self, reden: str) -> None:
        super().__init__(f"region event not usable for trends: {reden}")
        self.reden = reden


@dataclass(frozen=True)
class CasusStand:
    casus_id: str
    versie: int
    thema: int
    orientatie: int
    aangemeld_op: datetime
    afgesloten_op: datetime | None


@dataclass(frozen=True)
class Gevonden:
    match_id: str
    casus_id: str
    zekerheid: int
    gevonden_op: datetime


@dataclass(frozen=True)
class Gestart:
    match_id: str
    casus_id: str
    gevonden_op: datetime
    gestart_op: datetime


def _id(waarde: str) -> str:
    if not waarde or len(waarde) > MAX_ID:
        raise Onbruikbaar("onvolledig")
    return waarde


def _tijd(ts: Timestamp, gezet: bool) -> datetime:
    if not gezet:
        raise Onbruikbaar("onvolledig")
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise Onbruikbaar("onleesbaar") from None


def _ontleed(berichttype: type[_B], data: bytes) -> _B:
    try:
        return berichttype.FromString(data)
    except DecodeError:
        raise Onbruikbaar("onleesbaar") from None


def lees_casus(data: bytes, regio: str) -> CasusStand:
    g = _ontleed(G.CasusGebeurtenis, data)
    c = g.casus
    if g.soort == G.GEBEURTENIS_SOORT_ONBEKEND or not g.HasField("casus"):
        raise Onbruikbaar("onvolledig")
    if c.regio != regio:
        raise Onbruikbaar("verkeerde_regio")
    return CasusStand(
        casus_id=_id(c.casus_id),
        versie=c.versie,
        thema=c.thema,
        orientatie=c.orientatie,
        aangemeld_op=_tijd(c.aangemeld_op, c.HasField("aangemeld_op")),
        afgesloten_op=_tijd(c.afgesloten_op, True) if c.HasField("afgesloten_op") else None,
    )


def zekerheid(m: G.MatchGevonden) -> int:
    """ZEKER or WAARSCHIJNLIJK: the event's Zekerheid value; failing that (a publisher that sends
    another scale), the key types that hit decide, by the rule signalering uses (BSN: ZEKER)."""
    if m.zekerheid in (F.ZEKERHEID_ZEKER, F.ZEKERHEID_WAARSCHIJNLIJK):
        return m.zekerheid
    types = {t.strip().lower() for t in m.sleutel_types.split(",") if t.strip()}
    bekend = {SleutelType(t) for t in types if t in SleutelType._value2member_map_}
    if not bekend:
        raise Onbruikbaar("zekerheid")
    return F.ZEKERHEID_ZEKER if is_zeker(bekend) else F.ZEKERHEID_WAARSCHIJNLIJK


def lees_match(data: bytes) -> Gevonden:
    m = _ontleed(G.MatchGevonden, data)
    return Gevonden(
        match_id=_id(m.match_id),
        casus_id=_id(m.casus_id),
        zekerheid=zekerheid(m),
        gevonden_op=_tijd(m.tijdstip, m.HasField("tijdstip")),
    )


def lees_samenwerking(data: bytes) -> Gestart:
    w = _ontleed(G.SamenwerkingGestart, data)
    return Gestart(
        match_id=_id(w.match_id),
        casus_id=_id(w.casus_id),
        gevonden_op=_tijd(w.gevonden_op, w.HasField("gevonden_op")),
        gestart_op=_tijd(w.gestart_op, w.HasField("gestart_op")),
    )


def _weiger(bron: onderwerpen.Bron, fout: Onbruikbaar, msg: Msg) -> Uitkomst:
    """A malformed event is refused, counted and logged (subject only)."""
    TRENDRADAR_GEWEIGERD.labels(bron, fout.reden).inc()
    log.warning("region event refused", extra={"bron": bron, "reden": fout.reden, "subject": msg.subject})
    return Uitkomst.WEIGER


async def _verwerk(
    bron: onderwerpen.Bron,
    msg: Msg,
    lees: Callable[[bytes], _F],
    bewaar: Callable[[_F], Awaitable[bool]],
) -> Uitkomst:
    """Read the event, keep its fact; a malformed one is refused."""
    try:
        feit = lees(msg.data)
    except Onbruikbaar as fout:
        return _weiger(bron, fout, msg)
    await bewaar(feit)
    return Uitkomst.KLAAR


async def _bewaar_casus(s: AsyncSession, c: CasusStand) -> bool:
    rij = await s.get(CasusFeitRij, c.casus_id)
    if rij is None:
        s.add(
            CasusFeitRij(
                casus_id=c.casus_id,
                thema=c.thema,
                orientatie=c.orientatie,
                aangemeld_op=c.aangemeld_op,
                afgesloten_op=c.afgesloten_op,
                versie=c.versie,
            )
        )
        return True
    if c.versie <= rij.versie:
        return False
    rij.thema, rij.orientatie, rij.versie = c.thema, c.orientatie, c.versie
    rij.aangemeld_op, rij.afgesloten_op = c.aangemeld_op, c.afgesloten_op
    return True


class Feitenbron:
    """Keeps the counting facts from the region's events (one handler per source)."""

    def __init__(self, db: Database, regio: str) -> None:
        self.db, self.regio = db, regio

    async def bij_casussen(self, berichten: list[Msg]) -> list[Uitkomst]:
        """A fetched batch of case events (one per registration and change: the busiest of the
        three) kept in one transaction, in stream order."""
        uitkomsten: list[Uitkomst] = []
        standen: list[tuple[int, CasusStand]] = []
        for i, msg in enumerate(berichten):
            try:
                standen.append((i, lees_casus(msg.data, self.regio)))
                uitkomsten.append(Uitkomst.KLAAR)
            except Onbruikbaar as fout:
                uitkomsten.append(_weiger("casus", fout, msg))
        await samen_of_los(standen, uitkomsten, self.casussen, self.casus, DURABLES["casus"])
        return uitkomsten

    async def bij_match(self, msg: Msg) -> Uitkomst:
        return await _verwerk("match", msg, lees_match, self.match)

    async def bij_samenwerking(self, msg: Msg) -> Uitkomst:
        return await _verwerk("samenwerking", msg, lees_samenwerking, self.samenwerking)

    async def casus(self, c: CasusStand) -> bool:
        """Keep the casus' newest state; False when this version (or a newer one) is there."""
        return (await self.casussen([c]))[0]

    async def casussen(self, standen: list[CasusStand]) -> list[bool]:
        """``casus`` for each, in order, in one transaction."""
        async with self.db.transaction() as s:
            return [await _bewaar_casus(s, c) for c in standen]

    async def match(self, m: Gevonden) -> bool:
        async with self.db.transaction() as s:
            if await s.get(MatchFeitRij, m.match_id) is not None:
                return False
            s.add(
                MatchFeitRij(
                    match_id=m.match_id, casus_id=m.casus_id, zekerheid=m.zekerheid, gevonden_op=m.gevonden_op
                )
            )
            return True

    async def samenwerking(self, w: Gestart) -> bool:
        async with self.db.transaction() as s:
            rij = await s.get(SamenwerkingFeitRij, w.match_id)
            if rij is None:
                s.add(
                    SamenwerkingFeitRij(
                        match_id=w.match_id,
                        casus_id=w.casus_id,
                        gevonden_op=w.gevonden_op,
                        gestart_op=w.gestart_op,
                    )
                )
                return True
            if w.gestart_op >= rij.gestart_op:
                return False
            rij.gevonden_op, rij.gestart_op = w.gevonden_op, w.gestart_op
            return True

    def lezers(self, js: JetStreamContext, dood: DodeBrieven | None) -> list[StroomLezer]:
        """The durable consumers on the region's own stream ``js`` (never the hub's); ``dood``:
        where a message that keeps failing is kept (``Koppeling.dood``)."""
        handlers = {"match": self.bij_match, "samenwerking": self.bij_samenwerking}
        subjects: dict[onderwerpen.Bron, str] = {
            "casus": onderwerpen.gebeurtenissen(self.regio, "casus"),
            "match": onderwerpen.gebeurtenis(self.regio, "match", "gevonden"),
            "samenwerking": onderwerpen.gebeurtenis(self.regio, "samenwerking", "gestart"),
        }
        return [
            StroomLezer(
                js,
                stroom=onderwerpen.regiostroom(self.regio),
                subject=subjects[bron],
                durable=DURABLES[bron],
                # Case events come one per registration: a batch per transaction.
                handler=handlers.get(bron),
                batch_handler=self.bij_casussen if bron == "casus" else None,
                dood=dood,
            )
            for bron in DURABLES
        ]
