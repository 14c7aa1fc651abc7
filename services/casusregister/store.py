"""casusregister's tables: casussen, betrokkenen (raw identifiers live only here),
idempotency keys, and the transactional outbox."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gedeeld.db import UtcDateTime
from gedeeld.migraties import registreer
from gedeeld.nats.outbox import OutboxRijBasis

registreer("casusregister", Path(__file__).parent / "migrations")


class Base(DeclarativeBase):
    pass


class CasusRij(Base):
    __tablename__ = "casus"

    casus_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    regio: Mapped[str] = mapped_column(String(32))
    status: Mapped[int] = mapped_column(Integer)
    thema: Mapped[int] = mapped_column(Integer)
    orientatie: Mapped[int] = mapped_column(Integer)
    aanmelder_type: Mapped[int] = mapped_column(Integer)
    aanmelder_organisatie: Mapped[str] = mapped_column(String(200))
    # JSON {"a": [voldaan, toelichting], ...}; toelichtingen are cleared at retention.
    criteria: Mapped[str] = mapped_column(Text)
    procesregisseur: Mapped[str] = mapped_column(String(128), default="")
    topx: Mapped[bool] = mapped_column(Boolean, default=False)
    aangemeld_op: Mapped[datetime] = mapped_column(UtcDateTime)
    gewijzigd_op: Mapped[datetime] = mapped_column(UtcDateTime)
    afgesloten_op: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    afsluit_reden: Mapped[int] = mapped_column(Integer, default=0)
    status_toelichting: Mapped[str] = mapped_column(String(500), default="")
    versie: Mapped[int] = mapped_column(Integer, default=1)
    # Set when the bewaartermijn job removed the personal data.
    gegevens_verwijderd_op: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    betrokkenen: Mapped[list[BetrokkeneRij]] = relationship(
        back_populates="casus",
        cascade="all, delete-orphan",
        order_by="BetrokkeneRij.volgorde",
        lazy="selectin",
    )

    __table_args__ = (
        Index("ix_casus_zoeken", "aangemeld_op", "casus_id"),
        Index("ix_casus_status", "status"),
        Index("ix_casus_procesregisseur", "procesregisseur"),
        Index("ix_casus_afgesloten", "afgesloten_op"),
    )


class BetrokkeneRij(Base):
    __tablename__ = "betrokkene"

    betrokkene_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    casus_id: Mapped[str] = mapped_column(ForeignKey("casus.casus_id", ondelete="CASCADE"), index=True)
    volgorde: Mapped[int] = mapped_column(Integer)
    bsn: Mapped[str | None] = mapped_column(String(9), nullable=True, index=True)
    voornamen: Mapped[str] = mapped_column(String(200))
    voorvoegsels: Mapped[str] = mapped_column(String(50))
    achternaam: Mapped[str] = mapped_column(String(200))
    geboortedatum: Mapped[date] = mapped_column(Date, index=True)
    geslacht: Mapped[int] = mapped_column(Integer, default=0)

    casus: Mapped[CasusRij] = relationship(back_populates="betrokkenen")


class AanvraagRij(Base):
    """An Aanmelden request id, for idempotency; removed with the casus' data."""

    __tablename__ = "aanvraag"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    casus_id: Mapped[str] = mapped_column(ForeignKey("casus.casus_id", ondelete="CASCADE"), index=True)
    vingerafdruk: Mapped[str] = mapped_column(String(64))


class OutboxRij(OutboxRijBasis, Base):
    """A case event committed with its state change, published later by the relay (gedeeld/nats/outbox.py)."""

    __tablename__ = "outbox"

    # Case events carry raw identifiers: the bewaartermijn job removes a casus' events with it.
    casus_id: Mapped[str] = mapped_column(String(36), index=True)
