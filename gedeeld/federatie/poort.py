"""The first checks on a message from another region: cheapest first, all before the database.

1. The subject names the sending region (``onderwerpen.afzender``). A signal on our own subject
   is ours (ignored); a treffer or overleg message naming us as its sender, a subject of the
   wrong shape, or a region not in the registry is refused.
2. A token bucket per (kind, sending region): a flood from one region costs microseconds a
   message and is refused before its signature is verified; other regions' messages in the same
   batch are handled normally.
3. The envelope, its signature and its content's message type (``open_als``); the signer must
   be the subject's sender (``verkeerde_herkomst``): a region cannot replay another region's
   message under its own subject, and the hub lets a region publish only under its own code.

The services then check the content (text fields with ``controleer``, references, state).
Every check raises the one refusal error, ``BerichtFout`` (gedeeld/fouten.py), with its ``reden``.
Every refusal goes through ``weiger``: counted in ``zvh_federation_rejected_total{soort,afzender,
reden}`` (and the older ``zvh_signals_rejected_total{reden}``), logged with subject, kind, sending
region and reason (never content); a JetStream consumer then terminates it: a refused message is
never redelivered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import Message

from gedeeld.beheer.metrics import FEDERATIE_GEWEIGERD, SIGNALEN_GEWEIGERD
from gedeeld.federatie.bericht import Geopend, open_als
from gedeeld.federatie.register import Federatie
from gedeeld.federatie.snelheidslimiet import Limiet, Limieten
from gedeeld.fouten import BerichtFout
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import Uitkomst
from gedeeld.tekst import tekstfout

log = logging.getLogger("zvh.federatie")

M = TypeVar("M", bound=Message)


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


class Eigen(Exception):
    """A signal of our own region (everyone reads every signal): nothing to do."""


def label(federatie: Federatie, afzender: str | None) -> str:
    """A sending region as a metric label: a registry code, never free text from a subject."""
    return afzender if afzender and afzender in federatie.regios else "onbekend"


def weiger(soort: str, reden: str, *, afzender: str = "onbekend", subject: str = "") -> Uitkomst:
    """Count and log one refused message from another region, of any kind (also a query or a
    query's answer, which travel outside JetStream and ignore the result); a JetStream caller
    terminates it (``Uitkomst.WEIGER``). ``afzender``: a metric label (``label``/``herkomst``)."""
    FEDERATIE_GEWEIGERD.labels(soort, afzender, reden).inc()
    SIGNALEN_GEWEIGERD.labels(reden).inc()
    log.info(
        "federation message rejected",
        extra={"soort": soort, "reden": reden, "afzender": afzender, "subject": subject[:128]},
    )
    return Uitkomst.WEIGER


def controleer(waarde: str, maximum: int, *, meerdere_regels: bool = False, leeg: bool = True) -> str:
    """A text field from another region, unchanged, or ``BerichtFout("ongeldige_tekst")``: too long,
    control characters (a NUL byte never reaches PostgreSQL), bidi overrides (gedeeld/tekst.py).
    ``leeg=False``: an empty value is refused too."""
    if not BESCHERMING.tekst:
        return waarde
    if (not leeg and not waarde) or tekstfout(waarde, maximum=maximum, meerdere_regels=meerdere_regels):
        raise BerichtFout("ongeldige_tekst", "a text field is too long, empty or has forbidden characters")
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
        """The sending region the subject names, within its quota; else ``BerichtFout`` (or
        ``Eigen`` for a signal of our own)."""
        code = onderwerpen.afzender(soort, subject, ontvanger=None if soort == "signaal" else self.regio)
        if code is None:
            raise BerichtFout("verkeerd_onderwerp", "the subject is of another shape or for another region")
        if code == self.regio:
            if soort == "signaal":
                raise Eigen()
            if BESCHERMING.herkomst:
                raise BerichtFout("eigen_regio", "the subject names this region as the sender")
        if code not in self.federatie.regios:
            raise BerichtFout("onbekende_regio", "the subject's region is not in the federation registry")
        if BESCHERMING.snelheid and self._emmers[soort].neem(code):
            raise BerichtFout("limiet", "over the sending region's rate for this kind")
        return code

    def herkomst(self, soort: onderwerpen.Soort, subject: str) -> str:
        """The sending region a subject names, as a metric label for a refusal before (or
        without) ``afzender``: a registry code or ``onbekend``."""
        return label(self.federatie, onderwerpen.afzender(soort, subject))

    def open_als(
        self, soort: onderwerpen.Soort, data: bytes, afzender: str, berichttype: type[M]
    ) -> Geopend[M]:
        """The verified envelope with its content parsed as ``berichttype``; its signer is
        ``afzender`` (the subject's sender). Raises ``BerichtFout`` only."""
        return open_als(
            data,
            self.federatie,
            soort,
            berichttype,
            onderwerpen.MAX_BERICHT,
            afzender=afzender if BESCHERMING.herkomst else None,
        )
