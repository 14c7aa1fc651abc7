"""SQLite settings of the embedded default: WAL, synchronous NORMAL unless FULL is asked for."""

from __future__ import annotations

import asyncio
import contextlib
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


async def test_two_processes_on_one_file_do_not_lose_a_read_then_write(tmp_path: Path) -> None:
    """``zvh-node --dienst`` runs a node's services as processes on one SQLite file. A transaction
    that reads a value (a chain head, a counter) and writes after it must hold the write lock from
    its first statement: otherwise another process reads the same value meanwhile and one update is
    lost (or, for the processing log's chain, refused by its unique seq)."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    a, b = Database(url), Database(url)  # two engines and two in-process locks: two processes
    try:
        async with a.transaction() as s:
            await s.execute(text("CREATE TABLE teller (n INTEGER NOT NULL)"))
            await s.execute(text("INSERT INTO teller (n) VALUES (0)"))
        a_gelezen, b_gelezen = asyncio.Event(), asyncio.Event()

        async def verhoog(db: Database, na_lezen: Callable[[], Awaitable[None]]) -> None:
            async with db.transaction() as s:
                n = (await s.execute(text("SELECT n FROM teller"))).scalar_one()
                await na_lezen()
                await s.execute(text("UPDATE teller SET n = :n"), {"n": n + 1})

        async def a_houdt_vast() -> None:
            a_gelezen.set()
            # Give b the chance to read while a holds its value; with the lock b cannot, and a
            # goes on once the wait runs out.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(b_gelezen.wait(), 1.0)

        async def b_meldt() -> None:
            b_gelezen.set()

        taak_a = asyncio.create_task(verhoog(a, a_houdt_vast))
        await asyncio.wait_for(a_gelezen.wait(), 30)
        await asyncio.wait_for(verhoog(b, b_meldt), 60)
        await asyncio.wait_for(taak_a, 60)
        async with a.lezen() as s:
            assert (await s.execute(text("SELECT n FROM teller"))).scalar_one() == 2
    finally:
        await a.close()
        await b.close()
