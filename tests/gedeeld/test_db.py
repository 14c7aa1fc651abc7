"""SQLite settings of the embedded default: WAL, synchronous NORMAL unless FULL is asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gedeeld.db import Database, Groepscommit
from gedeeld.fouten import ConfigError


@pytest.mark.parametrize(("instelling", "verwacht"), [(None, 1), ("normal", 1), ("full", 2)])
async def test_sqlite_runs_in_wal_with_the_chosen_synchronous_level(
    tmp_path: Path, instelling: str | None, verwacht: int
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db = Database(url) if instelling is None else Database(url, synchronous=instelling)
    try:
        async with db.lezen() as s:
            assert (await s.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await s.execute(text("PRAGMA synchronous"))).scalar_one() == verwacht  # 1 NORMAL, 2 FULL
    finally:
        await db.close()


def test_an_unknown_synchronous_level_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="normal or full"):
        Database(f"sqlite:///{tmp_path / 'x.db'}", synchronous="off")


async def test_group_commit_writes_concurrent_work_in_fewer_transactions(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    commits: list[int] = []
    event.listen(db.engine.sync_engine, "commit", lambda _conn: commits.append(1))
    try:
        async with db.transaction() as s:
            await s.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
        commits.clear()
        groep = Groepscommit(db)

        def rij(n: int | None) -> Callable[[AsyncSession], Awaitable[None]]:
            async def werk(s: AsyncSession) -> None:
                await s.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})

            return werk

        await asyncio.gather(*(groep.schrijf(rij(i)) for i in range(20)))
        async with db.lezen() as s:
            assert sorted((await s.execute(text("SELECT n FROM t"))).scalars()) == list(range(20))
        assert 1 <= len(commits) < 20

        # A failing piece fails the callers of its batch, and nothing of that batch is written.
        with pytest.raises(IntegrityError):
            await asyncio.gather(groep.schrijf(rij(100)), groep.schrijf(rij(None)))
        async with db.lezen() as s:
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 20
        await groep.schrijf(rij(21))  # and the next batch goes through
        async with db.lezen() as s:
            assert (await s.execute(text("SELECT max(n) FROM t"))).scalar_one() == 21
    finally:
        await db.close()
