"""How many signals each region has published: the other side of the evaluations-to-signals ratio.

Read from the SIGNALEN stream's info with a subjects filter (``zvh.signaal.*`` gives a message count
per subject), which a node's NATS user may already ask; nothing new to permit. The counts cover
what the stream keeps (its max age, 14 days by default), are cached for a minute, and when the hub
does not answer the last known counts are used (never known: 0, so only the base allowance holds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from nats.js import JetStreamContext

from gedeeld.nats import onderwerpen

log = logging.getLogger("zvh.sleuteldeel")

CACHE_S = 60.0


class SignaalTeller(Protocol):
    async def aantal(self, regio: str) -> int: ...


class StroomSignaalTeller:
    def __init__(
        self, js: JetStreamContext, *, cache_s: float = CACHE_S, klok: Callable[[], float] = time.monotonic
    ) -> None:
        self._js = js
        self._cache_s = cache_s
        self._klok = klok
        self._tellingen: dict[str, int] = {}
        self._gelezen = float("-inf")

    async def aantal(self, regio: str) -> int:
        if self._klok() - self._gelezen >= self._cache_s:
            await self._lees()
        return self._tellingen.get(onderwerpen.signaal(regio), 0)

    async def _lees(self) -> None:
        # Set first: a hub that does not answer is asked again after the cache time, not per request.
        self._gelezen = self._klok()
        try:
            info = await self._js.stream_info(
                onderwerpen.SIGNALEN, subjects_filter=onderwerpen.alle("signaal")
            )
        except Exception as exc:
            log.warning(
                "signal counts unavailable; using the last known", extra={"error": type(exc).__name__}
            )
            return
        self._tellingen = dict(info.state.subjects or {})
