"""signalering's tables: the token index of the region's own active cases, the signals it
published, and the matches. Foreign tokens are never stored."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Index, Integer, LargeBinary, String, UniqueConstraint, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gedeeld.db import UtcDateTime
from gedeeld.migraties import registreer

if TYPE_CHECKING:
    from services.signalering.context import Context

registreer("signalering", Path(__file__).parent / "migrations")


class Base(DeclarativeBase):
    pass


class TokenRij(Base):
    __tablename__ = "sg_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[bytes] = mapped_column(LargeBinary(64))
    epoch: Mapped[int] = mapped_column(Integer)
    sleutel_type: Mapped[str] = mapped_column(String(32))
    casus_id: Mapped[str] = mapped_column(String(36))
    betrokkene_id: Mapped[str] = mapped_column(String(36))
    referentie: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_sg_token_token", "token", "epoch"),
        Index("ix_sg_token_casus", "casus_id"),
    )


class EigenSignaalRij(Base):
    """One person of one own casus, as signalled: its reference survives renewals and withdrawal."""

    __tablename__ = "sg_signaal"

    referentie: Mapped[str] = mapped_column(String(32), primary_key=True)
    signaal_id: Mapped[str] = mapped_column(String(36), unique=True)
    casus_id: Mapped[str] = mapped_column(String(36), index=True)
    betrokkene_id: Mapped[str] = mapped_column(String(36))
    epoch: Mapped[int] = mapped_column(Integer)
    verloopt_op: Mapped[datetime] = mapped_column(UtcDateTime)
    ingetrokken: Mapped[bool] = mapped_column(default=False)
    # Set once JetStream acknowledged the signal; a redelivered event publishes unset ones again.
    gepubliceerd: Mapped[bool] = mapped_column(default=False)


class ReferentieStand(Base):
    """Per other region's reference (one person of one of its cases), the newest signal seen:
    an older or replayed signal cannot undo it (a withdrawn reference stays withdrawn until a
    newer signal). Opaque references and the origin's timestamps only."""

    __tablename__ = "sg_referentie_stand"

    regio: Mapped[str] = mapped_column(String(32), primary_key=True)
    referentie: Mapped[str] = mapped_column(String(32), primary_key=True)
    tijdstip: Mapped[datetime] = mapped_column(UtcDateTime)  # the signal's own (signed) time
    signaal_id: Mapped[str] = mapped_column(String(64))
    ingetrokken: Mapped[bool] = mapped_column(default=False)


class MatchRij(Base):
    __tablename__ = "sg_match"

    match_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    eigen_casus_id: Mapped[str] = mapped_column(String(36), index=True)
    eigen_betrokkene_id: Mapped[str] = mapped_column(String(36))
    eigen_referentie: Mapped[str] = mapped_column(String(32))
    andere_regio: Mapped[str] = mapped_column(String(32))
    andere_referentie: Mapped[str] = mapped_column(String(32))
    sleutel_types: Mapped[str] = mapped_column(String(200))
    zekerheid: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # OPEN | GESLOTEN
    contact: Mapped[str] = mapped_column(String(200), default="")
    aangemaakt_op: Mapped[datetime] = mapped_column(UtcDateTime)
    gewijzigd_op: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        # Exactly one match per person and other region's person, whoever saw the hit first.
        UniqueConstraint("eigen_referentie", "andere_regio", "andere_referentie", name="uq_sg_match"),
        Index("ix_sg_match_andere", "andere_regio", "andere_referentie"),
    )


async def sluit_matches(s: AsyncSession, ctx: Context, waar: ColumnElement[bool]) -> list[str]:
    """Close the open matches that ``waar`` selects, and tell the waarnemer which."""
    ids = list((await s.execute(select(MatchRij.match_id).where(waar, MatchRij.status == "OPEN"))).scalars())
    if ids:
        await s.execute(
            update(MatchRij)
            .where(MatchRij.match_id.in_(ids))
            .values(status="GESLOTEN", gewijzigd_op=ctx.klok.nu())
        )
        if ctx.waarnemer is not None:
            await ctx.waarnemer.gesloten(s, ids)
    return ids
