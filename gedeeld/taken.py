"""A service's background tasks (consumers, outbox relays, timers): stopped together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any


async def stop_taken(taken: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel every task first, then wait for each: one slow to unwind does not hold back the
    cancellation of the others. A task that had ended with an error raises it here."""
    lijst = list(taken)
    for taak in lijst:
        taak.cancel()
    for taak in lijst:
        with contextlib.suppress(asyncio.CancelledError):
            await taak
