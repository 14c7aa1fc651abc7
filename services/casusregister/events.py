"""The casusregister's outbox: committed case events to the region's JetStream.

Events go to ``regio.<regio>.casus.<soort>`` with ``Nats-Msg-Id`` = event id, through the one
outbox relay of gedeeld/nats/outbox.py (ordered, published once across restarts).
"""

from __future__ import annotations

from nats.js import JetStreamContext

from gedeeld.db import Database
from gedeeld.klok import Klok
from gedeeld.nats.outbox import Outbox
from services.casusregister.store import OutboxRij


def casus_outbox(
    db: Database, js: JetStreamContext, regio: str, klok: Klok, *, batch: int = 100
) -> Outbox[OutboxRij]:
    """The casusregister's outbox and relay."""
    return Outbox(
        OutboxRij,
        db,
        js,
        regio,
        "casusregister",
        klok,
        batch=batch,
        bericht="case event published",
        velden=lambda rij: {"casus_id": rij.casus_id},
    )
