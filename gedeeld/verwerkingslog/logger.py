"""Writing the processing log: one audit record per action, one LDV record per data subject."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.beheer.tracing import TraceContext
from gedeeld.klok import Klok
from gedeeld.verwerkingslog.keten import toevoegen
from gedeeld.verwerkingslog.model import AuditRecord, Verwerking


@dataclass(frozen=True)
class Actor:
    """Who acted, in which role, for which purpose (doelbinding)."""

    gebruiker: str
    rol: str
    doel: str


@dataclass(frozen=True)
class Handeling:
    """What was done: the LDV ``name`` and the register-of-processing-activities id."""

    naam: str
    activiteit_id: str
    object_type: str
    object_id: str


class Verwerkingslog:
    """Writes LDV and audit records in the caller's transaction.

    ``sleutel`` is a node-local secret: data-subject ids in the log are
    HMAC-SHA256 pseudonyms of betrokkene ids, so the log alone does not link
    to a person, while inzage (which knows the betrokkene id) can find them.
    """

    def __init__(self, sleutel: bytes, klok: Klok) -> None:
        if len(sleutel) < 32:
            raise ValueError("verwerkingslog key must be at least 32 bytes")
        self._sleutel = sleutel
        self._klok = klok

    @classmethod
    def uit_sleutelbestand(cls, pad: Path, klok: Klok) -> Verwerkingslog:
        """With the node-local key in ``pad``, created once (0600) when it does not exist yet:
        every service of a node shares it, so inzage finds a person in every service's records."""
        if not pad.exists():
            pad.parent.mkdir(parents=True, exist_ok=True)
            pad.write_bytes(secrets.token_bytes(32))
            pad.chmod(0o600)
        return cls(pad.read_bytes(), klok)

    def pseudoniem(self, betrokkene_id: str) -> str:
        return hmac.new(self._sleutel, b"betrokkene\x00" + betrokkene_id.encode(), hashlib.sha256).hexdigest()

    async def vastleggen(
        self,
        session: AsyncSession,
        *,
        trace: TraceContext,
        handeling: Handeling,
        actor: Actor,
        betrokkene_ids: Sequence[str] = (),
        resultaat: str = "ok",
        start: datetime | None = None,
        foreign_operation: str | None = None,
        details: Mapping[str, int | str] | None = None,
    ) -> int:
        """Append the audit record and one LDV record per betrokkene; returns the audit seq."""
        eind = self._klok.nu()
        audit_seq = await toevoegen(
            session,
            "audit",
            AuditRecord(
                tijdstip=eind,
                actor=actor.gebruiker,
                rol=actor.rol,
                doel=actor.doel,
                handeling=handeling.naam,
                object_type=handeling.object_type,
                object_id=handeling.object_id,
                resultaat=resultaat,
                trace_id=trace.trace_id,
                span_id=trace.span_id,
                details=json.dumps(dict(details or {}), sort_keys=True),
            ),
        )
        for betrokkene_id in betrokkene_ids:
            await toevoegen(
                session,
                "verwerking",
                Verwerking(
                    trace_id=trace.trace_id,
                    span_id=trace.span_id,
                    parent_span_id=trace.parent_span_id,
                    naam=handeling.naam,
                    status="ok" if resultaat == "ok" else "error",
                    start=start or eind,
                    eind=eind,
                    processing_activity_id=handeling.activiteit_id,
                    data_subject_id=self.pseudoniem(betrokkene_id),
                    data_subject_type="betrokkene",
                    foreign_operation=foreign_operation,
                    audit_seq=audit_seq,
                ),
            )
        return audit_seq
