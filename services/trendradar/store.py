"""trendradar's tables: the privacy ledger (append-only), the releases received from every region, and
the counting facts kept from the region's own events.

The ledger is the only record of the privacy budget a region spent: one row per release version,
holding the signed release itself, so that re-releasing a month replays the very same noisy numbers
instead of drawing (and spending) again. Rows are never updated or deleted; the migration adds
triggers that refuse both.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Float, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gedeeld.db import UtcDateTime
from gedeeld.migraties import registreer

registreer("trendradar", Path(__file__).parent / "migrations")


class Base(DeclarativeBase):
    pass


class GrootboekRij(Base):
    """One release version and the epsilon it spent."""

    __tablename__ = "tr_grootboek"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    regio: Mapped[str] = mapped_column(String(32))
    jaar: Mapped[int] = mapped_column(Integer)
    # The n-th spend in this year: unique, so two concurrent releases cannot both pass the budget check.
    jaar_volgnummer: Mapped[int] = mapped_column(Integer)
    periode: Mapped[str] = mapped_column(String(7))
    release_id: Mapped[str] = mapped_column(String(64))
    versie: Mapped[int] = mapped_column(Integer)
    epsilon: Mapped[float] = mapped_column(Float)
    # The Ondertekend envelope as published (replayed byte for byte).
    ondertekend: Mapped[bytes] = mapped_column(LargeBinary)
    aangemaakt_op: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("regio", "periode", "versie", name="uq_tr_grootboek_versie"),
        UniqueConstraint("regio", "jaar", "jaar_volgnummer", name="uq_tr_grootboek_volgorde"),
    )


class OntvangenRij(Base):
    """A verified release of any region (own included), as received from TRENDS."""

    __tablename__ = "tr_ontvangen"

    regio: Mapped[str] = mapped_column(String(32), primary_key=True)
    periode: Mapped[str] = mapped_column(String(7), primary_key=True)
    versie: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The serialised TrendRelease (signature checked before it was stored).
    release: Mapped[bytes] = mapped_column(LargeBinary)
    ontvangen_op: Mapped[datetime] = mapped_column(UtcDateTime)


# The counting facts, kept from the region's own events (services/trendradar/feiten.py). No
# identifiers: the casus id (a random UUID of this node's register) ties the three together and
# never leaves the node; no name, BSN, birth date, person, reference or other region is stored.


class CasusFeitRij(Base):
    """A casus as the trend radar counts it: the newest state casusregister published."""

    __tablename__ = "tr_casus"

    casus_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    thema: Mapped[int] = mapped_column(Integer)
    orientatie: Mapped[int] = mapped_column(Integer)
    aangemeld_op: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    afgesloten_op: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    # The casus version (``Casus.versie``, raised by every change) this row reflects: an event
    # with an older or the same version (a redelivery, out of order or not) changes nothing.
    versie: Mapped[int] = mapped_column(Integer)


class MatchFeitRij(Base):
    """A match signalering found (MatchGevonden): its casus, confidence and when."""

    __tablename__ = "tr_match"

    match_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    casus_id: Mapped[str] = mapped_column(String(36), index=True)
    zekerheid: Mapped[int] = mapped_column(Integer)
    gevonden_op: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SamenwerkingFeitRij(Base):
    """Joint handling agreed on a match (SamenwerkingGestart): when found, when agreed."""

    __tablename__ = "tr_samenwerking"

    match_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    casus_id: Mapped[str] = mapped_column(String(36), index=True)
    gevonden_op: Mapped[datetime] = mapped_column(UtcDateTime)
    gestart_op: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
