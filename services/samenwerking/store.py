"""samenwerking's tables: the joint-handling state per match, the change feed that
``Volgen`` replays, coordination messages, the casussen' procesregisseurs, the region's own
references, and the outbox. Filled from its own steps and from the region's events (case events,
MatchGevonden, MatchGesloten, SignaalReferentie), never from another service's tables. Raw
identifiers never appear here."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gedeeld.db import UtcDateTime
from gedeeld.migraties import registreer
from gedeeld.nats.outbox import OutboxRijBasis

registreer("samenwerking", Path(__file__).parent / "migrations")


class Base(DeclarativeBase):
    pass


class SwMatch(Base):
    """One match (same id as signalering's, from its MatchGevonden) and where joint handling stands."""

    __tablename__ = "sw_match"

    match_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    casus_id: Mapped[str] = mapped_column(String(36), index=True)
    betrokkene_id: Mapped[str] = mapped_column(String(36))
    eigen_referentie: Mapped[str] = mapped_column(String(32))
    andere_regio: Mapped[str] = mapped_column(String(32))
    andere_referentie: Mapped[str] = mapped_column(String(32))
    zekerheid: Mapped[int] = mapped_column(Integer)
    sleutel_types: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    regie: Mapped[str] = mapped_column(String(32), default="")
    voorgesteld_door: Mapped[str] = mapped_column(String(32), default="")
    reden: Mapped[str] = mapped_column(String(500), default="")
    contact_regio: Mapped[str] = mapped_column(String(200), default="")
    contact_procesregisseur: Mapped[str] = mapped_column(String(200), default="")
    # This region's procesregisseur's details, sent to the other side once both agreed.
    eigen_contact: Mapped[str] = mapped_column(String(200), default="")
    contact_verstuurd: Mapped[bool] = mapped_column(default=False)
    aangemaakt_op: Mapped[datetime] = mapped_column(UtcDateTime)
    gewijzigd_op: Mapped[datetime] = mapped_column(UtcDateTime)
    # When both regions first agreed on joint handling (kept after the match closes): the trend
    # radar counts agreements and the time from match to agreement.
    samenwerking_op: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, default=None)

    __table_args__ = (
        UniqueConstraint("eigen_referentie", "andere_regio", "andere_referentie", name="uq_sw_match"),
        Index("ix_sw_match_andere", "andere_regio", "andere_referentie"),
    )


class SwKop(Base):
    """The feed's head: one row, updated in every writing transaction, so feed numbers
    are handed out in commit order (the row lock serialises writers)."""

    __tablename__ = "sw_kop"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    laatste: Mapped[int] = mapped_column(Integer)


class SwWijziging(Base):
    """The change feed: one row per change of a match, numbered without gaps."""

    __tablename__ = "sw_wijziging"

    volgnummer: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    match_id: Mapped[str] = mapped_column(String(36), index=True)
    nieuw: Mapped[bool] = mapped_column(default=False)
    tijdstip: Mapped[datetime] = mapped_column(UtcDateTime)


class SwBericht(Base):
    __tablename__ = "sw_bericht"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_id: Mapped[str] = mapped_column(String(36), index=True)
    regio: Mapped[str] = mapped_column(String(32))
    tekst: Mapped[str] = mapped_column(Text)
    tijdstip: Mapped[datetime] = mapped_column(UtcDateTime)


class SwOntvangen(Base):
    """Ids of applied overleg messages: a redelivery is applied once."""

    __tablename__ = "sw_ontvangen"

    bericht_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ontvangen_op: Mapped[datetime] = mapped_column(UtcDateTime)


class SwOutbox(OutboxRijBasis, Base):
    """samenwerking's outbox (gedeeld/nats/outbox.py): overleg messages to other regions, and its
    region-local events (SamenwerkingGestart), each written with the step it belongs to."""

    __tablename__ = "sw_outbox"


class SwReferentie(Base):
    """The region's own signalled references (SignaalReferentie, MatchGevonden): overleg messages
    are accepted for these only."""

    __tablename__ = "sw_referentie"

    referentie: Mapped[str] = mapped_column(String(32), primary_key=True)
    casus_id: Mapped[str] = mapped_column(String(36))


class SwCasus(Base):
    """Who handles each own casus (from the region's case events), for roles and filters."""

    __tablename__ = "sw_casus"

    casus_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    procesregisseur: Mapped[str] = mapped_column(String(64), default="")
