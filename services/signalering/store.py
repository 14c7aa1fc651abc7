"""signalering's tables: the token index of the region's own active cases, the signals it
published, the matches, and the outbox of its region-local events (MatchGevonden, MatchGesloten,
SignaalReferentie). Foreign tokens are never stored."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Index, Integer, LargeBinary, String, UniqueConstraint, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gedeeld.db import UtcDateTime
from gedeeld.migraties import registreer
from gedeeld.nats import onderwerpen
from gedeeld.nats.outbox import OutboxRijBasis
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G

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
    # Set once the reference was announced to the region (SignaalReferentie, in the outbox); rows
    # from before that event existed are announced at start (``meld_oude_referenties``).
    gemeld: Mapped[bool] = mapped_column(default=False)


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


class OutboxRij(OutboxRijBasis, Base):
    """signalering's region-local events, written with the change they announce (gedeeld/nats/outbox.py)."""

    __tablename__ = "sg_outbox"


async def meld_gevonden(s: AsyncSession, ctx: Context, match: MatchRij) -> None:
    """Announce a new match to the region (samenwerking, trendradar) in the transaction recording it."""
    g = G.MatchGevonden(
        match_id=match.match_id,
        casus_id=match.eigen_casus_id,
        betrokkene_id=match.eigen_betrokkene_id,
        eigen_referentie=match.eigen_referentie,
        andere_regio=match.andere_regio,
        andere_referentie=match.andere_referentie,
        sleutel_types=match.sleutel_types,
        zekerheid=match.zekerheid,
    )
    g.tijdstip.FromDatetime(match.aangemaakt_op)
    await ctx.outbox.gebeurtenis(s, onderwerpen.gebeurtenis(ctx.regio, "match", "gevonden"), g)


async def meld_referentie(s: AsyncSession, ctx: Context, rij: EigenSignaalRij) -> None:
    """Announce a new own reference (samenwerking accepts overleg for it) with the signal row."""
    g = G.SignaalReferentie(referentie=rij.referentie, casus_id=rij.casus_id, betrokkene_id=rij.betrokkene_id)
    g.tijdstip.FromDatetime(ctx.klok.nu())
    await ctx.outbox.gebeurtenis(s, onderwerpen.gebeurtenis(ctx.regio, "signaal", "referentie"), g)


async def meld_oude_referenties(ctx: Context) -> int:
    """Announce references signalled before SignaalReferentie existed (once; idempotent)."""
    async with ctx.db.transaction() as s:
        rijen = list(
            (await s.execute(select(EigenSignaalRij).where(EigenSignaalRij.gemeld.is_(False)))).scalars()
        )
        for rij in rijen:
            await meld_referentie(s, ctx, rij)
            rij.gemeld = True
    return len(rijen)


async def sluit_matches(s: AsyncSession, ctx: Context, waar: ColumnElement[bool]) -> list[str]:
    """Close the open matches that ``waar`` selects, and announce which (MatchGesloten)."""
    ids = list((await s.execute(select(MatchRij.match_id).where(waar, MatchRij.status == "OPEN"))).scalars())
    if ids:
        nu = ctx.klok.nu()
        await s.execute(
            update(MatchRij).where(MatchRij.match_id.in_(ids)).values(status="GESLOTEN", gewijzigd_op=nu)
        )
        g = G.MatchGesloten(match_ids=ids)
        g.tijdstip.FromDatetime(nu)
        await ctx.outbox.gebeurtenis(s, onderwerpen.gebeurtenis(ctx.regio, "match", "gesloten"), g)
    return ids
