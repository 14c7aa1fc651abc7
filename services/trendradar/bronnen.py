"""The facts a release counts, read from the trend radar's own tables.

Those tables are fed by the region's events (services/trendradar/gebeurtenissen.py): casusregister's
case events, signalering's ``MatchGevonden`` and samenwerking's ``SamenwerkingGestart`` on the
region-local stream. The trend radar reads no other service's tables and imports no other service.

- casussen: theme, orientation, registration and closing time of each casus;
- matches: per match, the own casus, its confidence and when it was found;
- samenwerkingen: per match with agreed joint handling, when the match was found and when agreed.

Only rows that can fall in the asked window are read.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.trendradar.store import CasusFeitRij, MatchFeitRij, SamenwerkingFeitRij
from services.trendradar.tellen import CasusFeit, Feiten, MatchFeit, Periode, SamenwerkingFeit


async def casussen(s: AsyncSession, periode: Periode) -> list[CasusFeit]:
    """Casussen registered before the month ended (the month's matches may hang on older ones)."""
    rijen = await s.execute(
        select(
            CasusFeitRij.casus_id,
            CasusFeitRij.thema,
            CasusFeitRij.orientatie,
            CasusFeitRij.aangemeld_op,
            CasusFeitRij.afgesloten_op,
        )
        .where(CasusFeitRij.aangemeld_op < periode.eind)
        .where(or_(CasusFeitRij.afgesloten_op.is_(None), CasusFeitRij.afgesloten_op >= periode.begin))
    )
    return [CasusFeit(*r) for r in rijen]


async def matches(s: AsyncSession, periode: Periode) -> list[MatchFeit]:
    """Matches found in the month."""
    rijen = await s.execute(
        select(MatchFeitRij.casus_id, MatchFeitRij.zekerheid, MatchFeitRij.gevonden_op).where(
            MatchFeitRij.gevonden_op >= periode.begin, MatchFeitRij.gevonden_op < periode.eind
        )
    )
    return [MatchFeit(*r) for r in rijen]


async def samenwerkingen(s: AsyncSession, periode: Periode) -> list[SamenwerkingFeit]:
    """Joint handling agreed in the month."""
    rijen = await s.execute(
        select(
            SamenwerkingFeitRij.casus_id, SamenwerkingFeitRij.gevonden_op, SamenwerkingFeitRij.gestart_op
        ).where(
            SamenwerkingFeitRij.gestart_op >= periode.begin, SamenwerkingFeitRij.gestart_op < periode.eind
        )
    )
    return [SamenwerkingFeit(*r) for r in rijen]


async def feiten(s: AsyncSession, periode: Periode) -> Feiten:
    return Feiten(await casussen(s, periode), await matches(s, periode), await samenwerkingen(s, periode))
