"""sleuteldeel's tables: requests seen (against replays), evaluations per requesting region per UTC
day (the daily cap and the evaluations-to-signals ratio), and what each onboarding window used.

They live in the database, not in process memory, so that every instance of the holder (a queue
group on ``zvh.oprf.<regio>``) refuses a request another instance answered, and a restart resets
no count. Every check that grants evaluations is one conditional UPDATE, so two instances cannot
both take the last of a budget.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Integer, String, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gedeeld.db import Database, UtcDateTime
from gedeeld.federatie.onboarding import Onboarding
from gedeeld.migraties import registreer

registreer("sleuteldeel", Path(__file__).parent / "migrations")

OPRUIM_INTERVAL_S = 60.0
# Longer than any ratio or onboarding window; counts only, no personal data.
DAGTELLING_BEWAREN = timedelta(days=62)


class Base(DeclarativeBase):
    pass


class GezienVerzoek(Base):
    """A request answered (or refused after its signature was checked); kept until it is stale anyway."""

    __tablename__ = "sd_verzoek"

    aanvrager: Mapped[str] = mapped_column(String(32), primary_key=True)
    verzoek_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    verloopt_op: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class DagTelling(Base):
    """Evaluations granted to one requesting region on one UTC day (``dag`` is YYYY-MM-DD)."""

    __tablename__ = "sd_dagtelling"

    aanvrager: Mapped[str] = mapped_column(String(32), primary_key=True)
    dag: Mapped[str] = mapped_column(String(10), primary_key=True)
    evaluaties: Mapped[int] = mapped_column(Integer, default=0)


class OnboardingGebruik(Base):
    """What one signed onboarding window (by the SHA-256 of the document) gave so far."""

    __tablename__ = "sd_onboarding"

    vingerafdruk: Mapped[str] = mapped_column(String(64), primary_key=True)
    aanvrager: Mapped[str] = mapped_column(String(32))
    extra: Mapped[int] = mapped_column(Integer)
    gebruikt: Mapped[int] = mapped_column(Integer, default=0)
    tot: Mapped[datetime] = mapped_column(UtcDateTime)


def dag(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _rijen(resultaat: Any) -> int:
    return int(cast(CursorResult[Any], resultaat).rowcount)


class Boekhouding:
    """The holder's persistent counts; one per holder process, over the service's database."""

    def __init__(self, db: Database, klok: Any = time.monotonic) -> None:
        self._db = db
        self._klok = klok
        self._opgeruimd = -OPRUIM_INTERVAL_S

    def _insert(self, tabel: type[Base]) -> Any:
        return (sqlite_insert if self._db.is_sqlite else pg_insert)(tabel)

    async def markeer(self, aanvrager: str, verzoek_id: str, verloopt_op: datetime, nu: datetime) -> bool:
        """Record a request as seen; False when it was seen before (by any instance)."""
        await self._ruim_op(nu)
        try:
            async with self._db.transaction() as s:
                s.add(GezienVerzoek(aanvrager=aanvrager, verzoek_id=verzoek_id, verloopt_op=verloopt_op))
        except IntegrityError:
            return False
        return True

    async def gebruik(self, aanvrager: str, nu: datetime, dagen: int) -> tuple[int, int]:
        """Evaluations granted today and over the last ``dagen`` UTC days (today included)."""
        async with self._db.lezen() as s:
            return await self._vandaag(s, aanvrager, nu), await self._venster(s, aanvrager, nu, dagen)

    async def _vandaag(self, s: AsyncSession, aanvrager: str, nu: datetime) -> int:
        stmt = select(DagTelling.evaluaties).where(
            DagTelling.aanvrager == aanvrager, DagTelling.dag == dag(nu)
        )
        return int((await s.execute(stmt)).scalar() or 0)

    async def _venster(self, s: AsyncSession, aanvrager: str, nu: datetime, dagen: int) -> int:
        stmt = select(func.coalesce(func.sum(DagTelling.evaluaties), 0)).where(
            DagTelling.aanvrager == aanvrager, DagTelling.dag >= dag(nu - timedelta(days=dagen - 1))
        )
        return int((await s.execute(stmt)).scalar_one())

    async def neem(
        self,
        aanvrager: str,
        n: int,
        nu: datetime,
        *,
        dagplafond: int,
        verhouding: tuple[int, int] | None = None,
        onboarding: Onboarding | None = None,
        onboarding_grens: tuple[int, int] | None = None,
    ) -> str | None:
        """Grant n evaluations, or return why not: ``buiten_verhouding`` (``verhouding`` is the
        (days, allowance) of the ratio check) or ``dagplafond`` (``dagplafond`` 0: no cap). An open
        onboarding window adds its remaining extra evaluations on top of the daily cap, while all the
        region's windows that ended less than ``onboarding_grens[1]`` days ago gave less than
        ``onboarding_grens[0]``."""
        vandaag = dag(nu)
        async with self._db.transaction() as s:
            await s.execute(
                self._insert(DagTelling)
                .values(aanvrager=aanvrager, dag=vandaag, evaluaties=0)
                .on_conflict_do_nothing()
            )
            if verhouding is not None:
                # Not one statement with the grant below: between instances this check can overshoot
                # by the batches in flight, which the daily cap (exact) still bounds.
                dagen, toegestaan = verhouding
                if await self._venster(s, aanvrager, nu, dagen) + n > toegestaan:
                    return "buiten_verhouding"
            rij = (DagTelling.aanvrager == aanvrager) & (DagTelling.dag == vandaag)
            nieuw = {"evaluaties": DagTelling.evaluaties + n}
            if not dagplafond:
                await s.execute(update(DagTelling).where(rij).values(nieuw))
                return None
            binnen = await s.execute(
                update(DagTelling).where(rij, DagTelling.evaluaties + n <= dagplafond).values(nieuw)
            )
            if _rijen(binnen):
                return None
            if onboarding is None:
                return "dagplafond"
            if onboarding_grens is not None:
                # Every window the beheerder signs for a region shares one budget: one window's bound
                # must not be multiplied by signing many.
                maximum, dagen = onboarding_grens
                sinds = nu - timedelta(days=dagen)
                eerder = await s.execute(
                    select(func.coalesce(func.sum(OnboardingGebruik.gebruikt), 0)).where(
                        OnboardingGebruik.aanvrager == aanvrager, OnboardingGebruik.tot >= sinds
                    )
                )
                if int(eerder.scalar_one()) + n > maximum:
                    return "dagplafond"
            await s.execute(
                self._insert(OnboardingGebruik)
                .values(
                    vingerafdruk=onboarding.vingerafdruk,
                    aanvrager=aanvrager,
                    extra=onboarding.extra,
                    gebruikt=0,
                    tot=onboarding.tot,
                )
                .on_conflict_do_nothing()
            )
            extra = await s.execute(
                update(OnboardingGebruik)
                .where(
                    OnboardingGebruik.vingerafdruk == onboarding.vingerafdruk,
                    OnboardingGebruik.gebruikt + n <= OnboardingGebruik.extra,
                )
                .values(gebruikt=OnboardingGebruik.gebruikt + n)
            )
            if not _rijen(extra):
                return "dagplafond"
            await s.execute(update(DagTelling).where(rij).values(nieuw))
            return None

    async def _ruim_op(self, nu: datetime) -> None:
        """Purge stale request ids, old day counts and ended windows, at most once a minute."""
        if self._klok() - self._opgeruimd < OPRUIM_INTERVAL_S:
            return
        self._opgeruimd = self._klok()
        async with self._db.transaction() as s:
            await s.execute(delete(GezienVerzoek).where(GezienVerzoek.verloopt_op < nu))
            await s.execute(delete(DagTelling).where(DagTelling.dag < dag(nu - DAGTELLING_BEWAREN)))
            await s.execute(delete(OnboardingGebruik).where(OnboardingGebruik.tot < nu - DAGTELLING_BEWAREN))

    async def aantal_gezien(self) -> int:
        async with self._db.lezen() as s:
            return int((await s.execute(select(func.count()).select_from(GezienVerzoek))).scalar_one())
