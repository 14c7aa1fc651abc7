"""The portal over real HTTP (httpx against uvicorn) in front of real nodes: login with TOTP and
lock-out, CSRF, security headers, roles, field errors, the shared match reference."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gedeeld.nats.server import NatsServer
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from services.portaal import gebruikers as G
from tests.federatie.knooppunten import Federatie, als
from tests.portaal.omgeving import WACHTWOORD, account, geef_trends_vrij, met_portalen, portaal
from tests.voorbeelden import aanmelding, betrokkene

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf(html: str) -> str:
    gevonden = _CSRF.search(html)
    assert gevonden, "page has no CSRF token"
    return gevonden.group(1)


async def inloggen(
    web: httpx.AsyncClient, regio: str, gebruiker: str, code: str | None = None
) -> httpx.Response:
    pagina = await web.get("/inloggen")
    a = account(regio, gebruiker)
    return await web.post(
        "/inloggen",
        data={
            "csrf": csrf(pagina.text),
            "gebruiker": gebruiker,
            "wachtwoord": WACHTWOORD,
            "code": code or a.code(),
        },
    )


def klant(fed: Federatie, regio: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=portaal(fed, regio).url, follow_redirects=True, timeout=20)


@pytest.fixture
async def fed(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Federatie]:
    async with met_portalen(tmp_path, nats_server.url) as f:
        yield f


async def test_login_headers_csrf_and_roles(fed: Federatie) -> None:
    async with klant(fed, "wvv") as web:
        r = await web.get("/inbox")
        assert r.url.path == "/inloggen"  # not logged in: to the login page
        h = r.headers
        assert "script-src 'self'" in h["content-security-policy"]
        assert "unsafe-inline" not in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
        assert h["cache-control"] == "no-store"
        cookie = r.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()

        # A wrong TOTP code is refused without saying which part was wrong.
        fout = await inloggen(web, "wvv", "pr-anna", code="000000")
        assert fout.status_code == 401 and G.ONJUIST in fout.text
        ok = await inloggen(web, "wvv", "pr-anna")
        assert ok.status_code == 200 and ok.url.path == "/inbox"
        assert "Anna de Vries" in ok.text

        # A procesregisseur does not see the query page in the menu, and cannot reach it.
        assert 'href="/bevraging"' not in ok.text
        assert (await web.get("/bevraging")).status_code == 403

        # A forged form (no or a wrong CSRF token) is refused, logged in or not.
        r = await web.post("/casussen/nieuw", data={"thema": "1"})
        assert r.status_code == 403 and "CSRF" in r.text
        r = await web.post("/casussen/nieuw", data={"thema": "1", "csrf": "vervalst"})
        assert r.status_code == 403

    async with klant(fed, "wvv") as web:
        ok = await inloggen(web, "wvv", "fg-eva")
        assert ok.url.path == "/inzage"
        assert 'href="/inbox"' not in ok.text
        assert (await web.get("/inbox")).status_code == 403


async def test_lockout_after_failures(fed: Federatie) -> None:
    async with klant(fed, "wvv") as web:
        for _ in range(5):
            r = await inloggen(web, "wvv", "ic-carla", code="000000")
            assert r.status_code == 401
        # Now even the right password and code are refused: the account is locked.
        r = await inloggen(web, "wvv", "ic-carla")
        assert r.status_code == 401 and "vergrendeld" in r.text


async def test_aanmelden_shows_field_errors_from_the_node(fed: Federatie) -> None:
    async with klant(fed, "wvv") as web:
        await inloggen(web, "wvv", "ic-carla")
        form = await web.get("/casussen/nieuw")
        data = {
            "csrf": csrf(form.text),
            "request_id": re.search(r'name="request_id" value="([^"]+)"', form.text).group(1),  # type: ignore[union-attr]
            "aanmelder.type": "1",
            "thema": "1",
            "orientatie": "1",
            "betrokkenen[0].bsn": "123456789",  # fails the 11-proef: the node says so
            "betrokkenen[0].voornamen": "Piet",
            "betrokkenen[0].achternaam": "",
            "betrokkenen[0].geboortedatum": "1980-02-30",  # no such date: the portal says so
        }
        r = await web.post("/casussen/nieuw", data=data)
        assert r.status_code == 400
        assert 'id="veld-betrokkenen-0-geboortedatum-fout"' in r.text
        data["betrokkenen[0].geboortedatum"] = "1980-02-03"
        r = await web.post("/casussen/nieuw", data=data)
        assert r.status_code == 400
        # The node's BadRequest field violations land on the form fields.
        assert 'id="veld-betrokkenen-0-bsn-fout"' in r.text and "11-proef" in r.text
        assert 'id="veld-betrokkenen-0-achternaam-fout"' in r.text
        assert 'aria-invalid="true"' in r.text
        # What was typed stays (nothing is lost).
        assert 'value="Piet"' in r.text


async def test_query_and_inzage_forms_keep_the_input_and_show_the_errors(fed: Federatie) -> None:
    async with klant(fed, "wvv") as web:
        # A link from a casus page fills in the form through the query string.
        r = await inloggen(web, "wvv", "ic-carla")
        r = await web.get("/bevraging", params={"casus_id": "uit-de-link"})
        assert r.status_code == 200 and 'value="uit-de-link"' in r.text and 'role="alert"' not in r.text
        # The node refuses an unknown casus: the form comes back with the message and the input.
        r = await web.post("/bevraging", data={"csrf": csrf(r.text), "casus_id": "bestaat-niet"})
        assert r.status_code == 400
        assert 'role="alert"' in r.text and 'value="bestaat-niet"' in r.text

    async with klant(fed, "wvv") as web:
        r = await inloggen(web, "wvv", "fg-eva")
        # The portal's own check (no such date) stops the request before the node.
        data = {"csrf": csrf(r.text), "verzoek_referentie": "AVG-1", "achternaam": "Berg"}
        r = await web.post("/inzage", data={**data, "geboortedatum": "1980-02-30"})
        assert r.status_code == 400 and 'id="veld-geboortedatum-fout"' in r.text
        assert 'value="AVG-1"' in r.text
        # The node's field violation (the reference is required) lands at its field.
        r = await web.post("/inzage", data={**data, "verzoek_referentie": "", "bsn": "111222333"})
        assert r.status_code == 400 and 'id="veld-verzoek-referentie-fout"' in r.text
        assert 'id="inzage-document"' not in r.text


async def test_shared_reference_equal_in_both_regions_and_actor_is_the_person(fed: Federatie) -> None:
    wvv, arnhem = fed["wvv"], fed["arnhem"]
    await wvv.casus_voor(aanmelding(betrokkene()), procesregisseur="pr-anna")
    await arnhem.casus_voor(aanmelding(betrokkene(voornamen="Jan")), procesregisseur="pr-bram")
    await fed.rustig()
    [ma] = await wvv.inbox("nm-dirk")
    [mb] = await arnhem.inbox("nm-dirk")
    assert ma.match_id != mb.match_id
    assert re.fullmatch(r"ZVH-[0-9A-Z]{4}-[0-9A-Z]{4}", ma.gedeelde_referentie)
    assert ma.gedeelde_referentie == mb.gedeelde_referentie
    async with klant(fed, "wvv") as a, klant(fed, "arnhem") as b:
        await inloggen(a, "wvv", "pr-anna")
        await inloggen(b, "arnhem", "pr-bram")
        pa = await a.get(f"/matches/{ma.match_id}")
        pb = await b.get(f"/matches/{mb.match_id}")
        assert ma.gedeelde_referentie in pa.text and mb.gedeelde_referentie in pb.text
        r = await a.post(
            f"/matches/{ma.match_id}/voorstel",
            data={
                "csrf": csrf(pa.text),
                "regievoerende_regio": "wvv",
                "contactgegevens": "Anna, 030-1234567",
            },
        )
        assert r.status_code == 200 and "Samenwerking voorgesteld" in r.text
    # The node logged the person, not the portal, as the actor.
    [voorstel] = await wvv.audit("samenwerking_voorstellen")
    assert voorstel.actor == "pr-anna" and voorstel.rol == "procesregisseur"
    m = await wvv.matchstub().Ophalen(M.MatchOphalenRequest(match_id=ma.match_id), metadata=als("nm-dirk"))
    assert m.status == M.MATCH_STATUS_SAMENWERKING_VOORGESTELD


async def test_trends_page_shows_the_released_picture_to_every_role(fed: Federatie) -> None:
    async with klant(fed, "wvv") as web:
        await inloggen(web, "wvv", "fg-eva")
        leeg = await web.get("/trends")
        assert leeg.status_code == 200 and 'id="trends-leeg"' in leeg.text
        assert 'href="/trends"' in leeg.text  # in every role's menu
        fout = await web.get("/trends", params={"van": "november"})
        assert fout.status_code == 400 and "JJJJ-MM" in fout.text

        await geef_trends_vrij(fed, "arnhem", "2026-10")

        async def getoond() -> bool:
            r = await web.get("/trends", params={"van": "2026-10", "tot": "2026-10"})
            return 'id="trends-grafiek"' in r.text

        await fed.wacht(getoond, timeout=30)
        r = await web.get("/trends", params={"van": "2026-10", "tot": "2026-10", "regio": "arnhem"})
        assert "<svg" in r.text and 'role="img"' in r.text and "<title" in r.text
        assert "Regio arnhem" in r.text and "arnhem, 2026-10 (versie 1" in r.text
