"""The region's own unprocessed backlog, and the brake on ``Aanmelden`` past a bound.

Backlog = outbox events not yet published + case events on the region stream not yet handled by
signalering (its consumer's pending and unacknowledged messages). Every one of them is a change
whose signal (and so any match in another region) is still to come. A burst bigger than the
federation works off would otherwise leave matches minutes behind without anyone being told; past
``casusregister.max_achterstand`` a new registration is refused with RESOURCE_EXHAUSTED and retry
advice, the figure is a metric (``zvh_federation_backlog``) and on ``/status``.

An event counts twice for the moment between its publication and the relay marking it published
(at most one relay batch): the figure is an upper bound, which is the safe side for a brake.

Measured at most every ``cache_s`` seconds (a count query and a consumer-info request), so a burst
of calls costs one measurement, not one each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext

from gedeeld.beheer.metrics import FEDERATIE_ACHTERSTAND
from gedeeld.fouten import RateLimitedError

log = logging.getLogger("zvh.casusregister")

STANDAARD_OPNIEUW_S = 5.0
MAX_OPNIEUW_S = 120.0


class Achterstandmeter:
    def __init__(
        self, regio: str, outbox: Callable[[], Awaitable[int]], grens: int, *, cache_s: float = 0.5
    ) -> None:
        self.regio = regio
        self.grens = grens  # 0: never refuse (the figure is still measured)
        self._outbox = outbox
        self._consument: tuple[JetStreamContext, str, str] | None = None
        self.cache_s = cache_s
        self._laatst: tuple[float, int] | None = None  # (monotonic, backlog) of the last measurement
        self._tempo = 0.0  # backlog worked off per second, from the last two measurements that fell
        self._lock = asyncio.Lock()
        self._gauge = FEDERATIE_ACHTERSTAND.labels(regio)

    def volg_consument(self, js: JetStreamContext, stroom: str, durable: str) -> None:
        """Count this consumer's pending messages too (signalering in the same process)."""
        self._consument = (js, stroom, durable)

    async def meet(self) -> int:
        """The current backlog (cached for ``cache_s``)."""
        async with self._lock:
            nu = time.monotonic()
            if self._laatst is not None and nu - self._laatst[0] < self.cache_s:
                return self._laatst[1]
            n = await self._outbox()
            if self._consument is not None:
                js, stroom, durable = self._consument
                try:
                    info = await js.consumer_info(stroom, durable)
                    n += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
                except Exception as exc:  # not yet created, or NATS away: the outbox still counts
                    log.debug("consumer info unavailable", extra={"error": type(exc).__name__})
            if self._laatst is not None and n < self._laatst[1]:
                self._tempo = (self._laatst[1] - n) / (nu - self._laatst[0])
            self._laatst = (nu, n)
            self._gauge.set(n)
            return n

    def opnieuw_na(self, achterstand: int) -> float:
        """Seconds until the backlog is back under the bound at the rate it last fell."""
        if self._tempo <= 0:
            return STANDAARD_OPNIEUW_S
        return min(MAX_OPNIEUW_S, max(1.0, (achterstand - self.grens + 1) / self._tempo))

    async def rem(self) -> None:
        """Raise RateLimitedError when the backlog is past the bound."""
        if self.grens <= 0:
            return
        n = await self.meet()
        if n <= self.grens:
            return
        wacht = self.opnieuw_na(n)
        raise RateLimitedError(
            f"de federatie loopt achter: {n} wijzigingen van deze regio wachten nog op verwerking "
            f"(grens {self.grens}); nieuwe aanmeldingen worden even niet aangenomen, "
            f"probeer het over {wacht:.0f} seconden opnieuw",
            retry_after=wacht,
        )
