"""OpenID Connect against the region's own identity provider: authorization code flow
with PKCE (S256), state and nonce; the ID token's signature (RS256 or ES256, keys
from the provider's JWKS) and its iss, aud, exp, iat and nonce are checked here with
``cryptography``. The person is found by the token's ``sub`` in the portal's user
file (``oidc_sub``); the role comes from that file, not from the provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gedeeld.config import OidcConfig

SCHEEFLOOP = 60  # seconds of clock skew accepted on exp/iat


class OidcFout(Exception):
    def __init__(self, reden: str) -> None:
        super().__init__(reden)
        self.reden = reden
        self.melding = "Inloggen via de identity provider is mislukt. Probeer het opnieuw."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(tekst: str) -> bytes:
    return base64.urlsafe_b64decode(tekst + "=" * (-len(tekst) % 4))


def _int(tekst: str) -> int:
    return int.from_bytes(_unb64(tekst), "big")


class _GeenAuth(httpx.Auth):
    """A public client (PKCE only): no client authentication."""


class OidcKlant:
    def __init__(self, cfg: OidcConfig, http: httpx.AsyncClient | None = None) -> None:
        self.cfg = cfg
        self._http = http or httpx.AsyncClient(timeout=10)
        self._discovery: dict[str, Any] | None = None
        self._sleutels: dict[str, Any] = {}

    async def sluit(self) -> None:
        await self._http.aclose()

    async def _ontdek(self) -> dict[str, Any]:
        if self._discovery is None:
            url = f"{self.cfg.issuer}/.well-known/openid-configuration"
            try:
                r = await self._http.get(url)
                r.raise_for_status()
                doc = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise OidcFout(f"discovery failed: {type(exc).__name__}") from None
            if doc.get("issuer", "").rstrip("/") != self.cfg.issuer:
                raise OidcFout("discovery names another issuer")
            self._discovery = doc
        return self._discovery

    async def start(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The provider's authorization URL and what the session keeps until the callback."""
        doc = await self._ontdek()
        staat = {
            "state": secrets.token_urlsafe(24),
            "nonce": secrets.token_urlsafe(24),
            "verifier": secrets.token_urlsafe(48),
        }
        challenge = _b64(hashlib.sha256(staat["verifier"].encode()).digest())
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.cfg.client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid",
                "state": staat["state"],
                "nonce": staat["nonce"],
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{doc['authorization_endpoint']}?{query}", staat

    async def terug(self, staat: dict[str, str], query: dict[str, str], redirect_uri: str) -> str:
        """Check the callback, redeem the code, verify the ID token; returns its ``sub``."""
        if not staat or not secrets.compare_digest(staat.get("state", ""), query.get("state", "")):
            raise OidcFout("state mismatch")
        if "error" in query or not query.get("code"):
            raise OidcFout(f"provider error: {query.get('error', 'no code')[:64]}")
        doc = await self._ontdek()
        auth: httpx.Auth | tuple[str | bytes, str | bytes] = (
            httpx.BasicAuth(self.cfg.client_id, self.cfg.client_secret)
            if self.cfg.client_secret
            else _GeenAuth()
        )
        try:
            r = await self._http.post(
                doc["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": query["code"],
                    "redirect_uri": redirect_uri,
                    "code_verifier": staat["verifier"],
                    "client_id": self.cfg.client_id,
                },
                auth=auth,
            )
            r.raise_for_status()
            id_token = str(r.json()["id_token"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise OidcFout(f"token request failed: {type(exc).__name__}") from None
        claims = await self._verifieer(id_token)
        if claims.get("nonce") != staat["nonce"]:
            raise OidcFout("nonce mismatch")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise OidcFout("no sub")
        return sub

    async def _sleutel(self, kid: str) -> Any:
        if kid not in self._sleutels:
            doc = await self._ontdek()
            try:
                r = await self._http.get(doc["jwks_uri"])
                r.raise_for_status()
                keys = r.json()["keys"]
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                raise OidcFout(f"jwks failed: {type(exc).__name__}") from None
            for k in keys:
                if k.get("kty") == "RSA":
                    self._sleutels[k.get("kid", "")] = rsa.RSAPublicNumbers(
                        _int(k["e"]), _int(k["n"])
                    ).public_key()
                elif k.get("kty") == "EC" and k.get("crv") == "P-256":
                    self._sleutels[k.get("kid", "")] = ec.EllipticCurvePublicNumbers(
                        _int(k["x"]), _int(k["y"]), ec.SECP256R1()
                    ).public_key()
        if kid not in self._sleutels:
            raise OidcFout("unknown signing key")
        return self._sleutels[kid]

    async def _verifieer(self, token: str) -> dict[str, Any]:
        try:
            kop_b64, inhoud_b64, handtekening_b64 = token.split(".")
            kop = json.loads(_unb64(kop_b64))
            claims = json.loads(_unb64(inhoud_b64))
            handtekening = _unb64(handtekening_b64)
        except ValueError:
            raise OidcFout("malformed id token") from None
        alg = kop.get("alg")
        sleutel = await self._sleutel(str(kop.get("kid", "")))
        ondertekend = f"{kop_b64}.{inhoud_b64}".encode()
        try:
            if alg == "RS256" and isinstance(sleutel, rsa.RSAPublicKey):
                sleutel.verify(handtekening, ondertekend, padding.PKCS1v15(), hashes.SHA256())
            elif (
                alg == "ES256" and isinstance(sleutel, ec.EllipticCurvePublicKey) and len(handtekening) == 64
            ):
                der = encode_dss_signature(
                    int.from_bytes(handtekening[:32], "big"), int.from_bytes(handtekening[32:], "big")
                )
                sleutel.verify(der, ondertekend, ec.ECDSA(hashes.SHA256()))
            else:
                raise OidcFout(f"algorithm {alg!r} not accepted")
        except InvalidSignature:
            raise OidcFout("bad id token signature") from None
        nu = time.time()
        aud = claims.get("aud")
        if str(claims.get("iss", "")).rstrip("/") != self.cfg.issuer:
            raise OidcFout("wrong issuer")
        if not (aud == self.cfg.client_id or (isinstance(aud, list) and self.cfg.client_id in aud)):
            raise OidcFout("wrong audience")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < nu - SCHEEFLOOP:
            raise OidcFout("expired id token")
        if isinstance(claims.get("iat"), (int, float)) and claims["iat"] > nu + SCHEEFLOOP:
            raise OidcFout("id token from the future")
        return dict(claims)
