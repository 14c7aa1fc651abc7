"""E-mail notification against a real local SMTP server (aiosmtpd), OpenID Connect login against a
small provider started here, and changes that count without a restart (tokens, portal users)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import socket
import time
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gedeeld.grpc.authenticatie import NAMENS
from gedeeld.nats.server import NatsServer
from gedeeld.zvh.v1 import casus_pb2 as C
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from services.cli import zvhctl
from tests.conftest import begrensd
from tests.portaal.omgeving import met_portalen, portaal
from tests.portaal.test_portaal_http import inloggen, klant
from tests.voorbeelden import BSN_A, aanmelding, betrokkene


def vrije_poort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postvak:
    """aiosmtpd handler: keeps each message and wakes the test's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.berichten: list[Message] = []
        self._loop = loop
        self.nieuw = asyncio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.berichten.append(message_from_bytes(envelope.content))
        self._loop.call_soon_threadsafe(self.nieuw.set)
        return "250 OK"


async def test_new_match_mails_the_procesregisseur_a_link_without_personal_data(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    postvak = Postvak(asyncio.get_running_loop())
    poort = vrije_poort()
    smtp = Controller(postvak, hostname="127.0.0.1", port=poort)
    smtp.start()
    try:
        extra = {
            "wvv": f'smtp_host = "127.0.0.1"\nsmtp_port = {poort}\nsmtp_afzender = "portaal@wvv.invalid"\n'
        }
        async with met_portalen(tmp_path, nats_server.url, extra=extra) as fed:
            await fed["wvv"].casus_voor(aanmelding(betrokkene()), procesregisseur="pr-anna")
            await fed["arnhem"].casus_voor(aanmelding(betrokkene(voornamen="Jan")), procesregisseur="pr-bram")
            await fed.rustig()
            async with asyncio.timeout(30):
                await postvak.nieuw.wait()
            [match] = await fed["wvv"].inbox("nm-dirk")
            # A later change of the match (the procesregisseur looks at it) sends nothing more.
            await (
                fed["wvv"]
                .matchstub()
                .Ophalen(
                    M.MatchOphalenRequest(match_id=match.match_id),
                    metadata=(("authorization", "Bearer test-token-pr-anna"),),
                )
            )
            url = portaal(fed, "wvv").url
            melder = portaal(fed, "wvv").melder
            assert melder is not None
            await fed.wacht(lambda: _stil(fed))
    finally:
        smtp.stop()
    [mail] = postvak.berichten
    assert melder.verstuurd == 1
    assert mail["To"] == "anna@wvv.invalid" and mail["From"] == "portaal@wvv.invalid"
    tekst = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert match.gedeelde_referentie in mail["Subject"] and match.gedeelde_referentie in tekst
    assert f"{url}/matches/{match.match_id}" in tekst
    for persoonsgegeven in (BSN_A, "Berg", "Jan Pieter", "1984", "05-03"):
        assert persoonsgegeven not in tekst and persoonsgegeven not in mail["Subject"]


async def _stil(fed: Any) -> bool:
    """The notifier has read the feed up to the match's last change (BEKEKEN)."""
    positie = portaal(fed, "wvv").cfg.gebruikers.with_name("portaal-gebruikers.melding-positie")
    return positie.exists() and positie.read_text().strip() == "v1.2"


# -- OpenID Connect ------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    """A minimal OpenID provider: the person is already logged in there as ``sub``."""

    def __init__(self, sub: str) -> None:
        self.sub = sub
        self.sleutel = ec.generate_private_key(ec.SECP256R1())
        self.ondertekenaar = self.sleutel  # a test swaps this for a key the JWKS does not have
        self.codes: dict[str, dict[str, str]] = {}
        self.url = ""
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
            }
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        code = f"code-{len(self.codes)}"
        self.codes[code] = {
            "nonce": q["nonce"],
            "challenge": q["code_challenge"],
            "client_id": q["client_id"],
            "redirect_uri": q["redirect_uri"],
        }
        return RedirectResponse(f"{q['redirect_uri']}?code={code}&state={q['state']}", status_code=303)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        c = self.codes.pop(str(form["code"]), None)
        verifier = str(form.get("code_verifier", ""))
        if c is None or _b64(hashlib.sha256(verifier.encode()).digest()) != c["challenge"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != c["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        nu = int(time.time())
        claims: dict[str, str | int] = {
            "iss": self.url,
            "aud": c["client_id"],
            "sub": self.sub,
            "nonce": c["nonce"],
        }
        claims |= {"iat": nu, "exp": nu + 300}
        kop = _b64(json.dumps({"alg": "ES256", "kid": "k1", "typ": "JWT"}).encode())
        inhoud = _b64(json.dumps(claims).encode())
        der = self.ondertekenaar.sign(f"{kop}.{inhoud}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        handtekening = _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return JSONResponse({"id_token": f"{kop}.{inhoud}.{handtekening}", "token_type": "Bearer"})

    async def jwks(self, request: Request) -> Response:
        n = self.sleutel.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "kid": "k1", "x": _b64(n.x.to_bytes(32, "big"))}
        jwk["y"] = _b64(n.y.to_bytes(32, "big"))
        return JSONResponse({"keys": [jwk]})


@contextlib.asynccontextmanager
async def draaiende_provider(sub: str) -> AsyncIterator[Provider]:
    p = Provider(sub)
    server = uvicorn.Server(uvicorn.Config(p.app, host="127.0.0.1", port=0, log_config=None, lifespan="off"))
    taak = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 - uvicorn has no "listening" event
            await asyncio.sleep(0.02)
    p.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        yield p
    finally:
        server.should_exit = True
        await begrensd("provider stop", taak)


async def test_oidc_login_against_the_regions_provider(tmp_path: Path, nats_server: NatsServer) -> None:
    async with draaiende_provider("idp-sub-anna") as idp:
        extra = {"wvv": f'oidc_issuer = "{idp.url}"\noidc_client_id = "portaal-wvv"\n'}
        async with met_portalen(tmp_path, nats_server.url, extra=extra) as fed:
            gebruikers = portaal(fed, "wvv").cfg.gebruikers
            cfg = str(fed["wvv"].cfg_pad)
            # Not linked yet: the provider's person is no portal user.
            async with klant(fed, "wvv") as web:
                r = await web.get("/oidc/start")
                assert r.status_code == 403 and "niet gekoppeld" in r.text
            # Link the account while the node runs (zvhctl writes the user file; no restart).
            assert zvhctl.main(["--config", cfg, "portaal", "gebruiker", "verwijder", "pr-anna"]) == 0
            assert (
                zvhctl.main(
                    [
                        *("--config", cfg, "portaal", "gebruiker", "toevoegen", "pr-anna", "procesregisseur"),
                        *("--naam", "Anna via IdP", "--oidc-sub", "idp-sub-anna", "--alleen-oidc"),
                    ]
                )
                == 0
            )
            assert "idp-sub-anna" in gebruikers.read_text()
            async with klant(fed, "wvv") as web:
                r = await fed_wacht_op_login(fed, web)
                assert r.url.path == "/inbox" and "Anna via IdP" in r.text
                # The person acts through the node as pr-anna.
                zoek = await web.get("/casussen")
                assert zoek.status_code == 200
            # An ID token signed with a key the provider does not publish is refused.
            idp.ondertekenaar = ec.generate_private_key(ec.SECP256R1())
            async with klant(fed, "wvv") as web:
                r = await web.get("/oidc/start")
                assert r.status_code == 401 and r.url.path == "/oidc/terug"
                assert (await web.get("/inbox")).url.path == "/inloggen"


async def fed_wacht_op_login(fed: Any, web: httpx.AsyncClient) -> httpx.Response:
    """The portal reads the changed user file within its reload interval: try until it does."""
    uitkomst: list[httpx.Response] = []

    async def gelukt() -> bool:
        r = await web.get("/oidc/start")
        uitkomst.append(r)
        return r.status_code == 200

    await fed.wacht(gelukt, timeout=10)
    return uitkomst[-1]


# -- changes without restart ------------------------------------------------------------------


async def test_new_token_and_blocked_portal_user_count_without_restart(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with met_portalen(tmp_path, nats_server.url) as fed:
        wvv = fed["wvv"]
        cfg = str(wvv.cfg_pad)
        assert zvhctl.main(["--config", cfg, "token", "nieuw", "pr-zoe", "procesregisseur"]) == 0
        token = capsys.readouterr().out.strip()

        async def geaccepteerd() -> bool:
            try:
                await wvv.stub.Zoeken(C.ZoekenRequest(), metadata=(("authorization", f"Bearer {token}"),))
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                    raise
                return False
            return True

        await fed.wacht(geaccepteerd, timeout=10)

        # The portal's own token: without a person it may only follow the match feed.
        geheim = portaal(fed, "wvv").cfg.geheim.read_text().strip()
        with pytest.raises(grpc.aio.AioRpcError) as fout:
            await wvv.matchstub().Lijst(M.LijstRequest(), metadata=(("authorization", f"Bearer {geheim}"),))
        assert fout.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as fout:
            await wvv.stub.Zoeken(
                C.ZoekenRequest(), metadata=(("authorization", f"Bearer {geheim}"), (NAMENS, "niemand"))
            )
        assert fout.value.code() == grpc.StatusCode.UNAUTHENTICATED

        # A blocked portal user is out at the next click.
        async with klant(fed, "wvv") as web:
            r = await inloggen(web, "wvv", "ic-carla")
            assert r.url.path == "/inbox"
            assert zvhctl.main(["--config", cfg, "portaal", "gebruiker", "blokkeer", "ic-carla"]) == 0

            async def buiten() -> bool:
                return (await web.get("/casussen")).url.path == "/inloggen"

            await fed.wacht(buiten, timeout=10)
            # The node refuses the person too (it reads the same file).
            with pytest.raises(grpc.aio.AioRpcError) as fout:
                await wvv.stub.Zoeken(
                    C.ZoekenRequest(), metadata=(("authorization", f"Bearer {geheim}"), (NAMENS, "ic-carla"))
                )
            assert fout.value.code() == grpc.StatusCode.UNAUTHENTICATED
