"""Sessions, CSRF tokens and security headers.

Sessions live in the portal's memory (a restart logs everybody out): the cookie
holds only a random id, HttpOnly, SameSite=Lax, Secure unless configured off for
plain-HTTP development. A new id is issued at login (no session fixation).
Every POST carries the session's synchroniser token (``csrf`` form field),
compared in constant time; a form without it is refused with 403.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Sessie:
    id: str
    csrf: str
    laatst: float
    gebruiker: str = ""  # empty: not logged in
    oidc: dict[str, str] = field(default_factory=dict)  # state, nonce, verifier during the flow
    melding: str = ""  # one-time message for the next page


class Sessies:
    # Anonymous sessions (a login form was shown) are capped: a flood of requests without a
    # cookie must not grow the portal's memory without bound. Logged-in sessions are never dropped.
    MAX_ANONIEM = 10_000
    ANONIEM_GELDIG_S = 1800.0

    def __init__(self, geldig_s: float) -> None:
        self._geldig = geldig_s
        self._sessies: dict[str, Sessie] = {}

    def nieuw(self) -> Sessie:
        self._opruimen()
        s = Sessie(secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.monotonic())
        self._sessies[s.id] = s
        return s

    def get(self, sessie_id: str | None) -> Sessie | None:
        if not sessie_id:
            return None
        s = self._sessies.get(sessie_id)
        if s is None:
            return None
        nu = time.monotonic()
        if nu - s.laatst > self._geldig:
            del self._sessies[s.id]
            return None
        s.laatst = nu
        return s

    def vernieuw(self, oud: Sessie, gebruiker: str) -> Sessie:
        """At login: a fresh id and CSRF token, so a planted id is worthless."""
        self._sessies.pop(oud.id, None)
        s = self.nieuw()
        s.gebruiker = gebruiker
        return s

    def beeindig(self, s: Sessie) -> None:
        self._sessies.pop(s.id, None)

    def beeindig_gebruiker(self, gebruiker: str) -> None:
        for s in [s for s in self._sessies.values() if s.gebruiker == gebruiker]:
            self._sessies.pop(s.id, None)

    def _opruimen(self) -> None:
        nu = time.monotonic()
        weg = [
            sid
            for sid, s in self._sessies.items()
            if nu - s.laatst > (self._geldig if s.gebruiker else min(self._geldig, self.ANONIEM_GELDIG_S))
        ]
        for sid in weg:
            del self._sessies[sid]
        anoniem = [s for s in self._sessies.values() if not s.gebruiker]
        if len(anoniem) >= self.MAX_ANONIEM:
            for s in sorted(anoniem, key=lambda s: s.laatst)[: len(anoniem) - self.MAX_ANONIEM + 1]:
                del self._sessies[s.id]


def csrf_geldig(sessie: Sessie | None, token: str) -> bool:
    return sessie is not None and bool(token) and hmac.compare_digest(sessie.csrf, token)


def csp(form_action_extra: str = "") -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action 'self'{form_action_extra}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


class Beveiligingskoppen:
    """Adds the security headers to every response (pure ASGI, so streaming is untouched)."""

    def __init__(self, app: ASGIApp, *, hsts: bool, form_action_extra: str = "") -> None:
        self.app = app
        koppen = [
            (b"content-security-policy", csp(form_action_extra).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        ]
        if hsts:
            koppen.append((b"strict-transport-security", b"max-age=31536000"))
        self._koppen = koppen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        statisch = scope["path"].startswith("/static/")

        async def verstuur(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += self._koppen
                if not statisch:
                    # Pages hold personal data: never from a shared or the browser's cache.
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, verstuur)
