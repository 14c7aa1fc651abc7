"""SQLite settings of the embedded default: WAL, synchronous NORMAL unless FULL is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from gedeeld.db import Database
from gedeeld.errors import ConfigError


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
