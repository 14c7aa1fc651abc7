"""Time as a dependency, so retention and expiry can be tested with a moved clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Klok(Protocol):
    def nu(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SysteemKlok:
    def nu(self) -> datetime:
        return datetime.now(UTC)
