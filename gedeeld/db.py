"""Database plumbing shared by the services: engine, sessions, UTC timestamps.

SQLite (aiosqlite) is the embedded default, PostgreSQL (asyncpg) production.
SQLite allows one writer. Writes in this process are serialised with an asyncio lock, and each
write transaction starts with ``BEGIN IMMEDIATE``: it takes the file's write lock (waiting up to
``busy_timeout``) before its first read, so a service in another process on the same file
(``zvh-node --dienst``) cannot commit between what a transaction reads (a chain head, a counter)
and what it writes. SQLite ignores ``FOR UPDATE``; PostgreSQL relies on those row locks (see
``keten``).

SQLite runs in WAL mode with ``synchronous=NORMAL`` by default: a commit is in the WAL (the OS's
page cache) before it returns, so a killed process loses nothing; only a power cut or kernel crash
can lose the last commits before a checkpoint. docs/benchmarks.md argues why that is acceptable
for the embedded default (nats-server's own file store syncs on an interval too); ``"full"`` gives
an fsync per commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from gedeeld.fouten import ConfigError


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def async_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async driver."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
        return url
    raise ConfigError("database.url", "use sqlite:///PATH or postgresql://USER@HOST/DB")


class Database:
    """One engine per service; ``transaction()`` gives a session that commits or rolls back."""

    def __init__(self, url: str, *, echo: bool = False, synchronous: str = "normal") -> None:
        self.url = async_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            if synchronous.lower() not in _SYNCHRONOUS:
                raise ConfigError("database.synchronous", "must be normal or full")
            pragma = f"PRAGMA synchronous={synchronous.upper()}"

            def pragmas(dbapi_conn: Any, record: Any) -> None:
                _sqlite_pragmas(dbapi_conn, record)
                cur = dbapi_conn.cursor()
                cur.execute(pragma)
                cur.close()

            event.listen(self.engine.sync_engine, "connect", pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A read-write unit of work: all of it commits, or none of it."""
        if self.is_sqlite:
            async with self._write_lock, self._sessions.begin() as session:
                # The write lock for the whole transaction, waiting up to busy_timeout: several
                # processes on one file (``zvh-node --dienst``) would otherwise read a chain head
                # or counter in one snapshot and write after another process moved it on.
                await session.execute(text("BEGIN IMMEDIATE"))
                yield session
        else:
            async with self._sessions.begin() as session:
                yield session

    @asynccontextmanager
    async def lezen(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (no write lock on SQLite)."""
        async with self._sessions() as session:
            yield session

    async def close(self) -> None:
        await self.engine.dispose()


def na_commit(session: AsyncSession, sleutel: str, doe: Callable[[], None]) -> None:
    """Run ``doe`` once the session's outermost transaction has committed; not at all when it rolls
    back. SQLAlchemy also fires ``after_commit`` when a savepoint (``begin_nested``) is released,
    before the outer transaction commits: a wake-up then would find nothing committed yet and
    the work would wait for the next poll. ``sleutel``: one registration per transaction."""
    sync = session.sync_session
    if sync.info.get(sleutel):
        return
    sync.info[sleutel] = True

    def gecommit(s: Session) -> None:
        if s.in_nested_transaction() or not s.info.pop(sleutel, None):
            return
        doe()

    def teruggedraaid(s: Session) -> None:
        if not s.in_nested_transaction():
            s.info.pop(sleutel, None)

    event.listen(sync, "after_commit", gecommit)
    event.listen(sync, "after_rollback", teruggedraaid)


class Groepscommit:
    """Group commit: work of concurrent callers written in one transaction (one commit, on SQLite
    FULL one fsync, for all). Each caller returns once its own work is committed, or gets the
    transaction's exception (one failing piece fails the batch it was in). For append-only records
    such as the key-share holders' audit records, of which a burst brings many at once."""

    def __init__(self, db: Database, *, max_batch: int = 256) -> None:
        self._db = db
        self._max = max_batch
        self._rij: list[tuple[Callable[[AsyncSession], Awaitable[None]], asyncio.Future[None]]] = []
        self._taak: asyncio.Task[None] | None = None

    async def schrijf(self, werk: Callable[[AsyncSession], Awaitable[None]]) -> None:
        klaar: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._rij.append((werk, klaar))
        if self._taak is None or self._taak.done():
            self._taak = asyncio.create_task(self._schrijf_alles())
        await klaar

    async def _schrijf_alles(self) -> None:
        # Whatever queued while a transaction ran goes into the next one.
        while self._rij:
            batch, self._rij = self._rij[: self._max], self._rij[self._max :]
            try:
                async with self._db.transaction() as s:
                    for werk, _ in batch:
                        await werk(s)
            except Exception as exc:
                for _, klaar in batch:
                    if not klaar.done():
                        klaar.set_exception(exc)
            else:
                for _, klaar in batch:
                    if not klaar.done():
                        klaar.set_result(None)


_SYNCHRONOUS = frozenset({"normal", "full"})


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
