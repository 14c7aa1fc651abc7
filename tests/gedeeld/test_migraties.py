"""Alembic migrations: from empty and from every earlier revision, on SQLite and PostgreSQL,
and the migrated schema equals the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from gedeeld import migraties
from gedeeld.db import Database
from gedeeld.verwerkingslog.model import Base as LogBase
from services.casusregister.store import Base as CasusBase
from services.node.opstart import COMPONENTEN
from services.samenwerking.store import Base as SamenwerkingBase
from services.signalering.store import Base as SignaleringBase
from services.trendradar.store import Base as TrendradarBase

MODELLEN: dict[str, MetaData] = {
    "verwerkingslog": LogBase.metadata,
    "casusregister": CasusBase.metadata,
    "signalering": SignaleringBase.metadata,
    "samenwerking": SamenwerkingBase.metadata,
    "trendradar": TrendradarBase.metadata,
}


async def verschillen(db: Database, metadata: MetaData) -> list[object]:
    def go(conn: Connection) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, metadata)
        eigen = set(metadata.tables)

        def van_ander(d: object) -> bool:
            # Other components share the database; their tables and indexes are not ours.
            if isinstance(d, tuple) and d[0] == "remove_table":
                return d[1].name not in eigen
            if isinstance(d, tuple) and d[0] == "remove_index":
                return d[1].table.name not in eigen
            return False

        return [d for d in diffs if not van_ander(d)]

    async with db.engine.connect() as conn:
        return await conn.run_sync(go)


async def test_upgrade_from_empty_matches_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        for component in COMPONENTEN:
            await migraties.upgrade(db, component)
        for component, metadata in MODELLEN.items():
            assert await migraties.huidige_revisie(db, component) == migraties.revisies(component)[-1]
            assert await verschillen(db, metadata) == []
    finally:
        await db.close()


@pytest.mark.parametrize("component", COMPONENTEN)
async def test_upgrade_from_each_revision_and_back(database_url: str, component: str) -> None:
    db = Database(database_url)
    try:
        if component != "verwerkingslog":
            await migraties.upgrade(db, "verwerkingslog")
        revisies = migraties.revisies(component)
        for i, rev in enumerate(revisies):
            await migraties.upgrade(db, component, rev)
            await migraties.upgrade(db, component)  # from rev to head
            assert await migraties.huidige_revisie(db, component) == revisies[-1]
            await migraties.downgrade(db, component, revisies[i])
            assert await migraties.huidige_revisie(db, component) == rev
        await migraties.downgrade(db, component, "base")
        assert await migraties.huidige_revisie(db, component) is None
    finally:
        await db.close()
