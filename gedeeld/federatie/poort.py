"""The first checks on a message from another region: cheapest first, all before the database.

1. The subject names the sending region (``onderwerpen.afzender``). A signal on our own subject
   is ours (ignored); a treffer or overleg message naming us as its sender, a subject of the
   wrong shape, or a region not in the registry is refused.
2. A token bucket per (kind, sending region): a flood from one region costs microseconds a
   message and is refused before its signature is verified; other regions' messages in the same
   batch are handled normally.
3. The envelope and its signature (``open_bericht``); the signer must be the subject's sender
   (``verkeerde_herkomst``): a region cannot replay another region's message under its own
   subject, and the hub lets a region publish only under its own code.

The services then check the content (text fields with ``controleer``, references, state).
Every refusal is counted in ``zvh_federation_rejected_total{soort,afzender,reden}`` (and the
older ``zvh_signals_rejected_total{reden}``), logged with subject, kind, sending region and
reason (never content) and terminated: a refused message is never redelivered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gedeeld import onderwerpen
from gedeeld.federatie.bericht import BerichtFout, Geopend, open_bericht
from gedeeld.federatie.register import Federatie
from gedeeld.jetstream import Uitkomst
from gedeeld.metrics import FEDERATIE_GEWEIGERD, SIGNALEN_GEWEIGERD
from gedeeld.snelheidslimiet import Limiet, Limieten
from gedeeld.tekst import tekstfout

log = logging.getLogger("zvh.federatie")


@dataclass
class Bescherming:
    """TEST-ONLY switches. Each protection can be turned off by a test to show the harm it
    prevents (tests/aanval/); nothing in production changes them, and no setting reaches them."""

    herkomst: bool = True  # the subject's sender must be the signer; own region ignored
    stand: bool = True  # per referentie of a region, the newest signal wins
    treffer_referentie: bool = True  # treffers only for an own, active, signalled reference
    tekst: bool = True  # text fields checked before the database
    snelheid: bool = True  # token bucket per (kind, sending region)


BESCHERMING = Bescherming()

# Sustained rate per hour and burst per sending region (FederatieConfig overrides them).
STANDAARD_LIMIETEN: dict[onderwerpen.Soort, Limiet] = {
    "signaal": Limiet(1_000 / 3600, 20_000),
    "treffer": Limiet(500 / 3600, 2_000),
    "overleg": Limiet(300 / 3600, 1_000),
}


class Geweigerd(Exception):
    """A message from another region refused; ``reden`` is one of a fixed set (a metric label)."""

    def __init__(self, reden: str) -> None:
        super().__init__(reden)
        self.reden = reden


class Eigen(Exception):
    """A signal of our own region (everyone reads every signal): nothing to do."""


def label(federatie: Federatie, afzender: str | None) -> str:
    """A sending region as a metric label: a registry code, never free text from a subject."""
    return afzender if afzender and afzender in federatie.regios else "onbekend"


def weiger(soort: str, reden: str, *, afzender: str = "onbekend", subject: str = "") -> Uitkomst:
    """Count and log one refused message; the caller terminates it (``Uitkomst.WEIGER``)."""
    FEDERATIE_GEWEIGERD.labels(soort, afzender, reden).inc()
    SIGNALEN_GEWEIGERD.labels(reden).inc()
    log.info(
        "federation message rejected",
        extra={"soort": soort, "reden": reden, "afzender": afzender, "subject": subject[:128]},
    )
    return Uitkomst.WEIGER


def controleer(waarde: str, maximum: int, *, meerdere_regels: bool = False, leeg: bool = True) -> str:
    """A text field from another region, unchanged, or ``Geweigerd("ongeldige_tekst")``: too long,
    control characters (a NUL byte never reaches PostgreSQL), bidi overrides (gedeeld/tekst.py).
    ``leeg=False``: an empty value is refused too."""
    if not BESCHERMING.tekst:
        return waarde
    if (not leeg and not waarde) or tekstfout(waarde, maximum=maximum, meerdere_regels=meerdere_regels):
        raise Geweigerd("ongeldige_tekst")
    return waarde


class Poort:
    """Subject, rate and signature checks of one region's inbound federation messages."""

    def __init__(
        self,
        regio: str,
        federatie: Federatie,
        limieten: Mapping[onderwerpen.Soort, Limiet] | None = None,
        klok: Callable[[], float] = time.monotonic,
    ) -> None:
        self.regio = regio
        self.federatie = federatie
        gekozen = {**STANDAARD_LIMIETEN, **(limieten or {})}
        self._emmers = {soort: Limieten(limiet, klok) for soort, limiet in gekozen.items()}

    def afzender(self, soort: onderwerpen.Soort, subject: str) -> str:
        """The sending region the subject names, within its quota; else ``Geweigerd`` (or
        ``Eigen`` for a signal of our own)."""
        code = onderwerpen.afzender(soort, subject, ontvanger=None if soort == "signaal" else self.regio)
        if code is None:
            raise Geweigerd("verkeerd_onderwerp")
        if code == self.regio:
            if soort == "signaal":
                raise Eigen()
            if BESCHERMING.herkomst:
                raise Geweigerd("eigen_regio")
        if code not in self.federatie.regios:
            raise Geweigerd("onbekende_regio")
        if BESCHERMING.snelheid and self._emmers[soort].neem(code):
            raise Geweigerd("limiet")
        return code

    def open(self, soort: onderwerpen.Soort, data: bytes, afzender: str) -> Geopend:
        """The verified envelope; its signer is ``afzender`` (the subject's sender)."""
        try:
            return open_bericht(
                data,
                self.federatie,
                soort,
                onderwerpen.MAX_BERICHT,
                afzender=afzender if BESCHERMING.herkomst else None,
            )
        except BerichtFout as exc:
            raise Geweigerd(exc.reden) from None
