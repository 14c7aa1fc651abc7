"""E-mail to the procesregisseur when a new match arrives: a link and the shared match
reference, no personal data (no name, BSN, birth date or case content).

The portal follows ``MatchService.Volgen`` as itself (role ``portaal``, which may do
nothing else) and keeps its position in a file next to the user file, so a restart
neither misses nor repeats a notification. Without a position (first start) it
notifies of matches that are new and still unseen (status NIEUW).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path

from gedeeld.config import SmtpConfig
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from services.portaal.gebruikers import Gebruikers
from services.portaal.klant import Fout, Klant

log = logging.getLogger("zvh.portaal.melding")


def bericht(m: M.Match, regio: str, url: str, afzender: str, aan: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = afzender
    msg["To"] = aan
    msg["Subject"] = f"Nieuwe match {m.gedeelde_referentie} met regio {m.andere_regio}"
    msg.set_content(
        f"Er is een nieuwe match voor een casus van u in regio {regio}, "
        f"met regio {m.andere_regio}.\n\n"
        f"Matchreferentie (in beide regio's gelijk): {m.gedeelde_referentie}\n"
        f"Bekijk de match in het portaal: {url}/matches/{m.match_id}\n\n"
        "Dit bericht bevat bewust geen persoonsgegevens.\n"
    )
    return msg


def verstuur(cfg: SmtpConfig, msg: EmailMessage) -> None:
    with smtplib.SMTP(cfg.host, cfg.port, timeout=15) as smtp:
        if cfg.starttls:
            smtp.starttls()
        if cfg.gebruiker:
            smtp.login(cfg.gebruiker, cfg.wachtwoord)
        smtp.send_message(msg)


class Melder:
    def __init__(
        self, klant: Klant, gebruikers: Gebruikers, cfg: SmtpConfig, regio: str, url: str, positie: Path
    ) -> None:
        self._klant, self._gebruikers, self._cfg = klant, gebruikers, cfg
        self._regio, self._url, self._positie = regio, url, positie
        self.verstuurd = 0

    def _lees_positie(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self._positie.read_text().strip()
        return ""

    async def draai(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._volg()
            except Fout as f:
                log.warning("match feed unavailable, retrying", extra={"error": f.code.name})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2)

    async def _volg(self) -> None:
        positie = await asyncio.to_thread(self._lees_positie)
        eerste_keer = not positie
        async for w in self._klant.volgen(None, positie):
            m = w.match
            if w.nieuw and (not eerste_keer or m.status == M.MATCH_STATUS_NIEUW):
                await self._meld(m)
            await asyncio.to_thread(self._positie.write_text, w.resume_token)

    async def _meld(self, m: M.Match) -> None:
        g = self._gebruikers.get(m.procesregisseur) if m.procesregisseur else None
        if g is None or not g.email:
            log.info("new match without a procesregisseur e-mail address", extra={"regio": self._regio})
            return
        msg = bericht(m, self._regio, self._url, self._cfg.afzender, g.email)
        try:
            await asyncio.to_thread(verstuur, self._cfg, msg)
        except (OSError, smtplib.SMTPException) as exc:
            # Not retried: the inbox shows the match anyway; the mail is a courtesy.
            log.warning("notification not sent", extra={"error": type(exc).__name__})
            return
        self.verstuurd += 1
        log.info("notification sent", extra={"regio": self._regio})
