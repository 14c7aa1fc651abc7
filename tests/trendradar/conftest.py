from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gedeeld.db import Database
from tests.conftest import migreer


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database (every component), on SQLite and, marked, PostgreSQL."""
    d = Database(database_url)
    await migreer(d)
    try:
        yield d
    finally:
        await d.close()
