"""Request/reply to another region with a reply subject that crosses leaf nodes.

``nc.request`` replies to ``_INBOX.<own>.<random>.<token>``. Behind leaf nodes the answering
region's leaf never learns of interest in that subject (``allow_responses`` does not cross a
leaf connection, nats-server issue #2949), so the answer is dropped. A region may publish only
into inboxes that name it as the answerer (``antwoord_inbox``); hence one subscription per
answering region on ``_INBOX.<own>.<answerer>.<instance>.*`` and a token per request.

The instance level matters: nats-server sends its "no responders" status to only one of the
requester's subscriptions that match the reply subject, so two requesters on one connection
must not share a subject.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gedeeld.nats.hubconfig import antwoord_inbox

# nats-server answers a request nobody listens to with this status (when the client asked for it).
_GEEN_LUISTERAARS = "503"


class Verzoeker:
    """``vraag(antwoorder, subject, data)``: like ``nc.request``, with the reply under
    ``antwoord_inbox(own, antwoorder)``. Raises ``nats.errors.TimeoutError`` or
    ``nats.errors.NoRespondersError`` as ``nc.request`` does."""

    def __init__(self, nc: Client, regio: str) -> None:
        self._nc = nc
        self._regio = regio
        self._subs: dict[str, Subscription] = {}
        self._lock = asyncio.Lock()
        self._wachtend: dict[str, asyncio.Future[Msg]] = {}
        self._instantie = secrets.token_hex(6)

    def _inbox(self, antwoorder: str) -> str:
        return f"{antwoord_inbox(self._regio, antwoorder)}.{self._instantie}"

    async def _abonneer(self, antwoorder: str) -> None:
        if antwoorder in self._subs:
            return
        async with self._lock:
            if antwoorder not in self._subs:
                onderwerp = f"{self._inbox(antwoorder)}.*"
                self._subs[antwoorder] = await self._nc.subscribe(onderwerp, cb=self._bij_antwoord)

    async def _bij_antwoord(self, msg: Msg) -> None:
        wacht = self._wachtend.get(msg.subject)
        if wacht is not None and not wacht.done():
            wacht.set_result(msg)

    async def vraag(
        self,
        antwoorder: str,
        subject: str,
        data: bytes,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> Msg:
        await self._abonneer(antwoorder)
        reply = f"{self._inbox(antwoorder)}.{secrets.token_hex(12)}"
        wacht: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._wachtend[reply] = wacht
        try:
            await self._nc.publish(subject, data, reply=reply, headers=dict(headers) if headers else None)
            try:
                msg = await asyncio.wait_for(wacht, timeout)
            except TimeoutError:
                raise nats.errors.TimeoutError from None
        finally:
            self._wachtend.pop(reply, None)
        if not msg.data and msg.headers and msg.headers.get("Status") == _GEEN_LUISTERAARS:
            raise nats.errors.NoRespondersError
        return msg

    async def stop(self) -> None:
        for sub in self._subs.values():
            await sub.unsubscribe()
        self._subs.clear()
