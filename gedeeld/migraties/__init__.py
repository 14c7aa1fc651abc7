"""Alembic migrations per component, run explicitly (``zvhctl db upgrade``).

Each component (the shared verwerkingslog, then each service) has its own
migration directory and its own version table ``alembic_version_<component>``,
so services that share a database in the embedded default never step on each
other, and a service can move to its own database in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from gedeeld.db import Database

# component -> directory holding env.py, script.py.mako and versions/
COMPONENTEN: dict[str, Path] = {}


def registreer(component: str, directory: Path) -> None:
    COMPONENTEN[component] = directory


def _config(component: str, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(COMPONENTEN[component]))
    cfg.attributes["component"] = component
    cfg.attributes["connection"] = connection
    return cfg


def configure_env(metadata: MetaData) -> None:
    """Called from a component's env.py: run its migrations on the given connection."""
    from alembic import context

    cfg = context.config
    connection: Connection = cfg.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=f"alembic_version_{cfg.attributes['component']}",
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def upgrade(db: Database, component: str, revision: str = "head") -> None:
    await _run(db, command.upgrade, component, revision)


async def downgrade(db: Database, component: str, revision: str) -> None:
    await _run(db, command.downgrade, component, revision)


async def _run(db: Database, fn: Any, component: str, revision: str) -> None:
    def go(conn: Connection) -> None:
        fn(_config(component, conn), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(go)


async def huidige_revisie(db: Database, component: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def go(conn: Connection) -> str | None:
        ctx = MigrationContext.configure(conn, opts={"version_table": f"alembic_version_{component}"})
        return ctx.get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(go)


def revisies(component: str) -> list[str]:
    """All revisions of a component, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config(component))
    return [r.revision for r in reversed(list(script.walk_revisions()))]
