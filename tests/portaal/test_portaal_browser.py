"""The portal in a real browser (headless Chromium via Selenium), two regions end to end:
log in with TOTP, a match arrives live, joint handling proposed and agreed, both sides show the
same match reference and the other's contact; roles, CSRF; axe-core on every page; screenshots
for docs/portaal.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gedeeld.nats.server import NatsServer
from tests.conftest import begrensd
from tests.federatie.knooppunten import Federatie
from tests.portaal.browser import Browser
from tests.portaal.omgeving import WACHTWOORD, account, geef_trends_vrij, met_portalen, portaal
from tests.voorbeelden import BSN_A, aanmelding, betrokkene

T = TypeVar("T")


def scenario(fed: Federatie, loop: asyncio.AbstractEventLoop, b: Browser) -> None:
    """Runs in a thread (Selenium blocks); the nodes keep running in the test's event loop."""

    def wacht(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    wvv, arnhem = portaal(fed, "wvv").url, portaal(fed, "arnhem").url
    # wvv already handles the person; pr-anna is its procesregisseur.
    wacht(fed["wvv"].casus_voor(aanmelding(betrokkene()), procesregisseur="pr-anna"))

    # -- pr-anna logs in to wvv with her TOTP code; the inbox is empty.
    b.open(f"{wvv}/inloggen")
    b.axe()
    b.schermafdruk("01-inloggen")
    anna = account("wvv", "pr-anna")
    b.inloggen(wvv, anna.id, WACHTWOORD, anna.code())
    assert b.pad == "/inbox" and "Anna de Vries" in b.tekst("#ingelogd-als")
    assert not b.bestaat("#matches tbody tr")
    b.wacht_op("#matches[data-live='verbonden']")  # the live feed is connected
    b.driver.execute_script("window.zvhNietHerladen = true;")
    b.axe()
    inbox_tab = b.driver.current_window_handle

    # -- in another tab, arnhem's informatiecoördinator registers the same person.
    b.driver.switch_to.new_window("tab")
    carla = account("arnhem", "ic-carla")
    b.inloggen(arnhem, carla.id, WACHTWOORD, carla.code())
    b.open(f"{arnhem}/casussen/nieuw")
    b.axe()
    geldig = {
        "aanmelder.type": "1",
        "thema": "1",
        "orientatie": "1",
        **{
            f"wgs_criteria.{c}.voldaan": "ja"
            for c in ("a_meervoudige_problematiek", "b_regulier_onvoldoende")
        },
        **{f"wgs_criteria.{c}.voldaan": "ja" for c in ("c_gezamenlijke_aanpak", "d_verwerking_noodzakelijk")},
        "betrokkenen[0].bsn": "111222334",  # wrong on purpose: fails the 11-proef
        "betrokkenen[0].voornamen": "Jan",
        "betrokkenen[0].voorvoegsels": "van der",
        "betrokkenen[0].achternaam": "Berg",
        "betrokkenen[0].geboortedatum": "1984-03-05",
        "betrokkenen[0].geslacht": "1",
    }
    b.vul(geldig)
    b.verstuur("form-aanmelden")
    # Field errors from the node, on the fields: the BSN and each ticked criterion's toelichting.
    assert "11-proef" in b.tekst("#veld-betrokkenen-0-bsn-fout")
    assert b.bestaat("#veld-wgs-criteria-a-meervoudige-problematiek-toelichting-fout")
    assert b.driver.find_element("id", "veld-betrokkenen-0-achternaam").get_attribute("value") == "Berg"
    b.axe()
    b.schermafdruk("02-aanmelden-veldfouten")
    b.vul(
        {
            "betrokkenen[0].bsn": BSN_A,
            **{
                f"wgs_criteria.{c}.toelichting": "zie overleg"
                for c in (
                    "a_meervoudige_problematiek",
                    "b_regulier_onvoldoende",
                    "c_gezamenlijke_aanpak",
                    "d_verwerking_noodzakelijk",
                )
            },
        }
    )
    b.verstuur("form-aanmelden")
    assert b.pad.startswith("/casussen/"), b.pad
    b.vul({"procesregisseur": "pr-bram"})
    b.verstuur("form-toewijzen")
    assert b.tekst("#casus-procesregisseur") == "pr-bram"
    b.axe()
    b.schermafdruk("03-casus")
    casus_id = b.tekst("#casus-id")
    b.open(f"{arnhem}/casussen")
    b.axe()
    # The informatiecoördinator may ask the other regions (hit/no-hit).
    b.open(f"{arnhem}/bevraging?casus_id={casus_id}")
    b.verstuur("form-bevraging")
    assert "Treffer in wvv" in b.tekst("main")
    b.axe()
    b.schermafdruk("04-bevraging")
    b.uitloggen()

    # -- back in wvv: the match arrived without a reload.
    b.driver.switch_to.window(inbox_tab)
    b.wacht_op("#matches tbody tr", timeout=60)
    assert b.driver.execute_script("return window.zvhNietHerladen === true;"), "the inbox was reloaded"
    assert "arnhem" in b.tekst("#matches tbody tr")
    assert "Nieuwe match" in b.tekst("#live-melding")
    b.schermafdruk("05-inbox-live")
    b.open(b.href("#matches tbody tr a"))
    b.wacht_op("#matchreferentie")
    referentie_wvv = b.tekst("#matchreferentie")
    b.axe()
    b.vul({"regievoerende_regio": "wvv", "contactgegevens": "Anna de Vries, 030-1234567"})
    b.verstuur("form-voorstel")
    assert b.tekst("#match-status") == "Samenwerking voorgesteld"
    b.schermafdruk("06-match-voorgesteld")
    match_url_wvv = b.driver.current_url

    # A forged form without the CSRF token (a script on the page posting to the portal) is refused.
    b.driver.execute_script(
        "const f = document.createElement('form'); f.method = 'post';"
        "f.action = location.pathname + '/bericht';"
        "const t = document.createElement('input'); t.name = 'tekst'; t.value = 'vervalst'; f.appendChild(t);"
        "document.body.appendChild(f); f.submit();"
    )
    b.wacht_op("h1")
    assert "Geweigerd" in b.tekst("h1") and "CSRF" in b.tekst("main")

    # -- arnhem's procesregisseur logs in and agrees.
    wacht(fed.rustig())
    b.driver.switch_to.new_window("tab")
    bram = account("arnhem", "pr-bram")
    b.inloggen(arnhem, bram.id, WACHTWOORD, bram.code())
    # A procesregisseur does not see the query page, and cannot reach it.
    assert not b.bestaat("nav a[href='/bevraging']")
    b.open(f"{arnhem}/bevraging")
    assert "niet beschikbaar voor uw rol" in b.tekst("main")
    b.axe()
    b.open(f"{arnhem}/inbox")
    # (the live feed may redraw the row: follow the link's address rather than the element)
    b.open(b.href("#matches tbody tr a"))
    b.wacht_op("#matchreferentie")
    assert b.tekst("#matchreferentie") == referentie_wvv
    b.vul({"contactgegevens": "Bram Jansen, 026-7654321"})
    b.verstuur("form-akkoord")
    assert b.tekst("#match-status") == "Samenwerking"
    wacht(fed.rustig())
    b.driver.refresh()
    b.wacht_op("#contact-andere")
    assert "Anna de Vries, 030-1234567" in b.tekst("#contact-andere")
    b.axe()
    b.schermafdruk("07-match-samenwerking-arnhem")

    # -- both sides: the same reference, the other's contact.
    b.open(match_url_wvv)
    b.wacht_op("#matchreferentie")
    assert b.tekst("#matchreferentie") == referentie_wvv
    assert b.tekst("#match-status") == "Samenwerking"
    assert "Bram Jansen, 026-7654321" in b.tekst("#contact-andere")
    b.schermafdruk("08-match-samenwerking-wvv")
    b.open(f"{wvv}/casussen")
    b.axe()
    b.uitloggen()

    # -- the FG: inzage only.
    eva = account("wvv", "fg-eva")
    b.inloggen(wvv, eva.id, WACHTWOORD, eva.code())
    assert b.pad == "/inzage" and not b.bestaat("nav a[href='/inbox']")
    b.vul({"verzoek_referentie": "AVG-2026-001", "bsn": BSN_A})
    b.verstuur("form-inzage")
    assert "samenwerking_voorstellen" in b.tekst("#inzage-document")
    b.axe()
    b.schermafdruk("09-inzage")

    # -- trends: the national picture (every role), charts as inline SVG.
    wacht(geef_trends_vrij(fed, "arnhem", "2026-10"))
    for _ in range(60):  # the release reaches wvv through the federation's stream
        b.open(f"{wvv}/trends?van=2026-10&tot=2026-10")
        if b.bestaat("#trends-grafiek"):
            break
        time.sleep(0.5)
    assert b.bestaat("#trends-grafiek svg[role='img']")
    b.axe()
    b.schermafdruk("10-trends")


@pytest.mark.timeout(300)
async def test_two_procesregisseurs_agree_in_the_browser(tmp_path: Path, nats_server: NatsServer) -> None:
    async with met_portalen(tmp_path, nats_server.url, cookie_secure=True) as fed:
        b = await asyncio.to_thread(Browser)
        try:
            await asyncio.to_thread(scenario, fed, asyncio.get_running_loop(), b)
        finally:
            await begrensd("browser quit", asyncio.to_thread(b.sluit), 30)
    # axe ran on every kind of page the portal has.
    assert {"/inloggen", "/inbox", "/casussen/nieuw", "/casussen", "/bevraging", "/inzage", "/trends"} <= set(
        b.gecontroleerd
    )
    assert any(p.startswith("/matches/") for p in b.gecontroleerd)
