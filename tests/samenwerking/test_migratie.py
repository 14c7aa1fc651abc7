"""Migration sw0003: the overleg outbox ``sw_uitgaand`` moves into the generic ``sw_outbox`` without
losing a row (published or not), the references of existing matches are kept, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from gedeeld import migraties
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.db import Database, UtcDateTime
from gedeeld.federatie.bericht import onderteken

UITGAAND = sa.table(
    "sw_uitgaand",
    sa.column("bericht_id", sa.String),
    sa.column("ontvanger", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("gepubliceerd", sa.Boolean),
    sa.column("aangemaakt_op", UtcDateTime),
)
MOMENT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_overleg_outbox_rows_move_over_and_back(database_url: str) -> None:
    db = Database(database_url)
    sleutel = Ondertekensleutel.nieuw()
    data = {b: onderteken(sleutel, "wvv", "overleg", f"stap {b}".encode()) for b in ("b1", "b2")}
    try:
        await migraties.upgrade(db, "verwerkingslog")
        await migraties.upgrade(db, "samenwerking", "sw0002")
        async with db.engine.begin() as conn:
            for bericht_id, gepubliceerd in (("b1", True), ("b2", False)):
                await conn.execute(
                    UITGAAND.insert().values(
                        bericht_id=bericht_id,
                        ontvanger="arnhem",
                        data=data[bericht_id],
                        gepubliceerd=gepubliceerd,
                        aangemaakt_op=MOMENT,
                    )
                )
            await conn.execute(
                sa.text(
                    "INSERT INTO sw_match (match_id, casus_id, betrokkene_id, eigen_referentie, andere_regio,"
                    " andere_referentie, zekerheid, sleutel_types, status, regie, voorgesteld_door, reden,"
                    " contact_regio, contact_procesregisseur, eigen_contact, contact_verstuurd,"
                    " aangemaakt_op, gewijzigd_op) VALUES ('m1', 'c1', 'p1', 'ref-eigen', 'arnhem',"
                    " 'ref-ander', 1, 'bsn', 'NIEUW', '', '', '', '', '', '', false,"
                    " '2026-11-30 12:00:00', '2026-11-30 12:00:00')"
                )
            )
        await migraties.upgrade(db, "samenwerking")
        async with db.engine.connect() as conn:
            rijen = (
                await conn.execute(
                    sa.text(
                        "SELECT gebeurtenis_id, subject, payload, gepubliceerd_op IS NOT NULL "
                        "FROM sw_outbox ORDER BY volgnummer"
                    )
                )
            ).all()
            refs = (await conn.execute(sa.text("SELECT referentie, casus_id FROM sw_referentie"))).all()
        assert [(r[0], r[1], bytes(r[2]), bool(r[3])) for r in rijen] == [
            ("b1", "zvh.overleg.arnhem.wvv", data["b1"], True),
            ("b2", "zvh.overleg.arnhem.wvv", data["b2"], False),
        ]
        assert [tuple(r) for r in refs] == [("ref-eigen", "c1")]

        await migraties.downgrade(db, "samenwerking", "sw0002")
        async with db.engine.connect() as conn:
            terug = (
                await conn.execute(
                    sa.select(UITGAAND.c.bericht_id, UITGAAND.c.ontvanger, UITGAAND.c.gepubliceerd).order_by(
                        UITGAAND.c.bericht_id
                    )
                )
            ).all()
        assert [tuple(r) for r in terug] == [("b1", "arnhem", True), ("b2", "arnhem", False)]
    finally:
        await db.close()
