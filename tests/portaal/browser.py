"""Headless Chromium (Debian's package) through Selenium, and axe-core on every page."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SCHERMAFDRUKKEN = Path(__file__).resolve().parents[2] / "docs" / "portaal"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_AXE_RUN = """
const klaar = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(r => klaar(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.map(n => n.target.join(' '))}))))
  .catch(e => klaar([{id: 'axe-error', help: String(e), nodes: []}]));
"""


class Browser:
    def __init__(self) -> None:
        if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
            raise RuntimeError(
                "chromium and chromedriver are needed for the browser tests: run `make deps` "
                "(apt-get install -y chromium chromium-driver)"
            )
        self._profiel = tempfile.mkdtemp(prefix="zvh-chromium-")
        opties = webdriver.ChromeOptions()
        opties.binary_location = str(CHROMIUM)
        for vlag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            f"--user-data-dir={self._profiel}",
        ):
            opties.add_argument(vlag)
        self.driver = webdriver.Chrome(options=opties, service=Service(str(CHROMEDRIVER)))
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(30)
        self._axe = AXE.read_text()
        self.gecontroleerd: list[str] = []

    def sluit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profiel, ignore_errors=True)

    # -- navigation and forms
    def open(self, url: str) -> None:
        self.driver.get(url)

    def vul(self, waarden: dict[str, str]) -> None:
        for naam, waarde in waarden.items():
            veld = self.driver.find_element(By.NAME, naam)
            if veld.tag_name == "select":
                veld.find_element(By.CSS_SELECTOR, f"option[value='{waarde}']").click()
            elif veld.get_attribute("type") == "checkbox":
                if veld.is_selected() != (waarde == "ja"):
                    veld.click()
            elif veld.get_attribute("type") == "date":
                # A date input takes typed digits in the browser's locale order; set the value instead.
                self.driver.execute_script("arguments[0].value = arguments[1];", veld, waarde)
            else:
                veld.clear()
                veld.send_keys(waarde)

    def verstuur(self, form_id: str) -> None:
        self._klik_en_wacht(f"#{form_id} button[type=submit]")

    def inloggen(self, basis: str, gebruiker: str, wachtwoord: str, code: str) -> None:
        self.open(f"{basis}/inloggen")
        self.vul({"gebruiker": gebruiker, "wachtwoord": wachtwoord, "code": code})
        self._klik_en_wacht("main form button[type=submit]")

    def uitloggen(self) -> None:
        self._klik_en_wacht("form[action='/uitloggen'] button")

    def _klik_en_wacht(self, css: str) -> None:
        """Click a submit button and wait for the next page. The old page is marked and the wait is
        for a loaded document without the mark: chromedriver reports an element of a page that is
        gone as "Node with given id does not belong to the document" rather than as stale, both
        from the click that navigates and from a staleness check on an element of the old page."""
        self.driver.execute_script("document.documentElement.setAttribute('data-zvh-oud', '');")
        try:
            self.driver.find_element(By.CSS_SELECTOR, css).click()
        except WebDriverException as exc:
            if "does not belong to the document" not in str(exc.msg):
                raise
        WebDriverWait(self.driver, 30, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(
                "return document.readyState === 'complete'"
                " && !document.documentElement.hasAttribute('data-zvh-oud');"
            )
        )

    def tekst(self, css: str, timeout: float = 30) -> str:
        """An element's visible text, found and read in one script in the page: the live inbox
        may redraw an element between a WebDriver lookup and a read, which chromedriver reports
        as "Node with given id does not belong to the document"."""
        return str(
            WebDriverWait(self.driver, timeout).until(
                lambda d: d.execute_script(
                    "const e = document.querySelector(arguments[0]); return e && {t: e.innerText};", css
                )
            )["t"]
        )

    def bestaat(self, css: str) -> bool:
        return bool(self.driver.find_elements(By.CSS_SELECTOR, css))

    def wacht_op(self, css: str, timeout: float = 30) -> Any:
        return WebDriverWait(self.driver, timeout).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def href(self, css: str, timeout: float = 30) -> str:
        """A link's address, read in the page (the live inbox may redraw the element meanwhile)."""
        return str(
            WebDriverWait(self.driver, timeout).until(
                lambda d: d.execute_script(
                    "const a = document.querySelector(arguments[0]); return a && a.href;", css
                )
            )
        )

    @property
    def pad(self) -> str:
        return str(self.driver.execute_script("return location.pathname;"))

    # -- checks
    def axe(self) -> None:
        """No WCAG 2.1 A/AA violation on the current page (axe-core, injected, not served)."""
        self.driver.execute_script(self._axe)
        schendingen = self.driver.execute_async_script(_AXE_RUN, WCAG)
        self.gecontroleerd.append(self.pad)
        assert schendingen == [], (
            f"axe on {self.pad}: {json.dumps(schendingen, indent=1, ensure_ascii=False)}"
        )

    def schermafdruk(self, naam: str) -> None:
        """The whole page, not only the window (Chrome DevTools: capture beyond the viewport)."""
        SCHERMAFDRUKKEN.mkdir(parents=True, exist_ok=True)
        beeld = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        (SCHERMAFDRUKKEN / f"{naam}.png").write_bytes(base64.b64decode(beeld["data"]))
