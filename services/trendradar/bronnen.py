"""The seam between the trend radar and the services that own the facts.

Each function reads one owner's tables through that owner's store module, and returns plain facts
(no identifiers beyond the casus id, which never leaves the node): the trend radar writes nothing
there and depends on nothing else of theirs. In the embedded default and in today's production
layout all services share one database, so these are plain queries; when a service moves to its own
database, its function here becomes a read call on that service, with the same signature.

- casusregister: theme, orientation, registration and closing time of each casus;
- signalering: per match, the own casus, its confidence and when it was found;
- samenwerking: per match with agreed joint handling, when the match was found and when agreed.

Only rows that can fall in the asked window are read.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.casusregister.store import CasusRij
from services.samenwerking.store import SwMatch
from services.signalering.store import MatchRij
from services.trendradar.tellen import CasusFeit, Feiten, MatchFeit, Periode, SamenwerkingFeit


async def casussen(s: AsyncSession, periode: Periode) -> list[CasusFeit]:
    """casusregister: casussen registered before the month ended (the month's matches may hang on
    older ones)."""
    rijen = await s.execute(
        select(
            CasusRij.casus_id,
            CasusRij.thema,
            CasusRij.orientatie,
            CasusRij.aangemeld_op,
            CasusRij.afgesloten_op,
        )
        .where(CasusRij.aangemeld_op < periode.eind)
        .where(or_(CasusRij.afgesloten_op.is_(None), CasusRij.afgesloten_op >= periode.begin))
    )
    return [CasusFeit(*r) for r in rijen]


async def matches(s: AsyncSession, periode: Periode) -> list[MatchFeit]:
    """signalering: matches found in the month."""
    rijen = await s.execute(
        select(MatchRij.eigen_casus_id, MatchRij.zekerheid, MatchRij.aangemaakt_op).where(
            MatchRij.aangemaakt_op >= periode.begin, MatchRij.aangemaakt_op < periode.eind
        )
    )
    return [MatchFeit(*r) for r in rijen]


async def samenwerkingen(s: AsyncSession, periode: Periode) -> list[SamenwerkingFeit]:
    """samenwerking: joint handling agreed in the month."""
    rijen = await s.execute(
        select(SwMatch.casus_id, SwMatch.aangemaakt_op, SwMatch.samenwerking_op).where(
            SwMatch.samenwerking_op >= periode.begin, SwMatch.samenwerking_op < periode.eind
        )
    )
    return [SamenwerkingFeit(c, m, w) for c, m, w in rijen if w is not None]


async def feiten(s: AsyncSession, periode: Periode) -> Feiten:
    return Feiten(await casussen(s, periode), await matches(s, periode), await samenwerkingen(s, periode))
