"""Tables of the processing log, after Logboek Dataverwerkingen (LDV).

``ldv_verwerking``: one row per processing per data subject (the LDV line),
with W3C trace context and a pseudonymised data-subject id.
``ldv_audit``: who did it (user, role, purpose), linked from the LDV rows.
Both are hash chains; ``ldv_ketenkop`` holds each chain's head, locked for
every append so that concurrent writers cannot fork a chain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gedeeld.db import UtcDateTime

GENESIS = "0" * 64


class Base(DeclarativeBase):
    pass


class Ketenkop(Base):
    __tablename__ = "ldv_ketenkop"

    keten: Mapped[str] = mapped_column(String(32), primary_key=True)
    laatste_seq: Mapped[int] = mapped_column(Integer)
    laatste_hash: Mapped[str] = mapped_column(String(64))


class AuditRecord(Base):
    __tablename__ = "ldv_audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tijdstip: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    rol: Mapped[str] = mapped_column(String(32))
    doel: Mapped[str] = mapped_column(String(128))
    handeling: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    resultaat: Mapped[str] = mapped_column(String(32))
    trace_id: Mapped[str] = mapped_column(String(32), index=True)
    span_id: Mapped[str] = mapped_column(String(16))
    # Counts and ids only, as JSON; never identifiers in clear.
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Verwerking(Base):
    __tablename__ = "ldv_verwerking"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    trace_id: Mapped[str] = mapped_column(String(32))
    span_id: Mapped[str] = mapped_column(String(16))
    parent_span_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    naam: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    eind: Mapped[datetime] = mapped_column(UtcDateTime)
    processing_activity_id: Mapped[str] = mapped_column(String(256))
    data_subject_id: Mapped[str] = mapped_column(String(64))
    data_subject_type: Mapped[str] = mapped_column(String(32))
    # "<regio>/<trace_id>/<span_id>" of the operation in another region this one follows.
    foreign_operation: Mapped[str | None] = mapped_column(String(128), nullable=True)
    audit_seq: Mapped[int] = mapped_column(ForeignKey("ldv_audit.seq"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_ldv_verwerking_subject", "data_subject_id"),
        Index("ix_ldv_verwerking_trace", "trace_id"),
    )
