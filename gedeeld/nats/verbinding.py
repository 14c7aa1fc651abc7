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


async def bevestig(nc: Client, timeout: int = 10) -> None:
    """Return once the server has processed everything this client sent, subscriptions included.

    nats-py (2.16) writes ``flush()``'s PING straight to the socket, ahead of the commands still
    queued for its flusher task, such as a SUB just made: the server can answer that PONG before it
    has seen the SUB, so one flush does not prove that a subscription is in place. The second PING
    leaves after the queue was written (the flusher ran while we waited for the first PONG), so its
    PONG does. ``tests/gedeeld/test_nats_volgorde.py`` checks the order on the wire.
    """
    await nc.flush(timeout)
    await nc.flush(timeout)
