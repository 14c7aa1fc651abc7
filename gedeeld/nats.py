"""Connecting to NATS the way long-lived services must."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client

log = logging.getLogger("zvh.nats")


async def verbind(url: str, naam: str, **kwargs: object) -> Client:
    """Connect and keep reconnecting for ever (a node outlives NATS restarts)."""

    async def bij_fout(exc: Exception) -> None:
        log.warning("nats error", extra={"client": naam, "error": type(exc).__name__})

    async def bij_verbreking() -> None:
        log.warning("nats disconnected", extra={"client": naam})

    async def bij_herstel() -> None:
        log.info("nats reconnected", extra={"client": naam})

    return await nats.connect(
        url,
        name=naam,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=bij_fout,
        disconnected_cb=bij_verbreking,
        reconnected_cb=bij_herstel,
        **kwargs,  # type: ignore[arg-type,unused-ignore]
    )
