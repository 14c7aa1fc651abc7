"""Append-only hash chains: each row's hash covers its content and the previous hash.

An edited row no longer matches its hash; a deleted row leaves a gap in the
sequence numbers; a truncated tail no longer matches the chain head. The head
itself can be edited by someone with write access to the database, which is
why ``zvhctl audit verify`` also prints the head for an operator to note
elsewhere (docs/verwerkingslog.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.verwerkingslog.model import GENESIS, AuditRecord, Ketenkop, Verwerking

KETENS: dict[str, type[AuditRecord] | type[Verwerking]] = {
    "audit": AuditRecord,
    "verwerking": Verwerking,
}


def _waarde(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def inhoud_hash(row: AuditRecord | Verwerking, prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of every column but ``hash``, and ``prev_hash``."""
    cols = {c.name: _waarde(getattr(row, c.key)) for c in row.__table__.columns if c.name != "hash"}
    cols["prev_hash"] = prev_hash
    return hashlib.sha256(json.dumps(cols, sort_keys=True).encode()).hexdigest()


async def toevoegen(session: AsyncSession, keten: str, row: AuditRecord | Verwerking) -> int:
    """Append ``row`` to ``keten`` inside the caller's transaction; returns its seq."""
    stmt = select(Ketenkop).where(Ketenkop.keten == keten).with_for_update()
    kop = (await session.execute(stmt)).scalar_one()
    row.seq = kop.laatste_seq + 1
    row.prev_hash = kop.laatste_hash
    row.hash = inhoud_hash(row, kop.laatste_hash)
    kop.laatste_seq, kop.laatste_hash = row.seq, row.hash
    session.add(row)
    await session.flush()
    return row.seq


@dataclass(frozen=True)
class Breuk:
    """The first broken link of a chain."""

    keten: str
    seq: int
    reden: str


async def verifieer(session: AsyncSession, keten: str, batch: int = 1000) -> Breuk | None:
    """Walk the chain; return its first broken link, or None when it is intact."""
    model = KETENS[keten]
    verwacht_seq, vorige = 1, GENESIS
    laatste = 0
    while True:
        stmt = select(model).where(model.seq >= verwacht_seq).order_by(model.seq).limit(batch)
        rows = cast(Sequence[AuditRecord | Verwerking], (await session.execute(stmt)).scalars().all())
        if not rows:
            break
        for row in rows:
            if row.seq != verwacht_seq:
                return Breuk(keten, verwacht_seq, f"rij {verwacht_seq} ontbreekt (verwijderd)")
            if row.prev_hash != vorige:
                return Breuk(keten, row.seq, "prev_hash wijkt af van de vorige rij")
            if inhoud_hash(row, vorige) != row.hash:
                return Breuk(keten, row.seq, "inhoud gewijzigd (hash klopt niet)")
            vorige, laatste, verwacht_seq = row.hash, row.seq, row.seq + 1
        session.expunge_all()
    kop = (await session.execute(select(Ketenkop).where(Ketenkop.keten == keten))).scalar_one()
    if kop.laatste_seq != laatste or kop.laatste_hash != vorige:
        return Breuk(keten, laatste + 1, f"keten eindigt bij {laatste}, kop zegt {kop.laatste_seq}")
    return None
