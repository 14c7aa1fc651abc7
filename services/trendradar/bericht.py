"""What a trend release looks like on the wire: subject, envelope kind, size, id."""

from __future__ import annotations

from gedeeld.nats import onderwerpen
from services.trendradar.tellen import Periode

SOORT = "trend"  # the Ondertekend envelope's kind
MAX_BERICHT = onderwerpen.MAX_BERICHT
subject = onderwerpen.trend


def release_id(regio: str, periode: Periode) -> str:
    return f"{regio}/{periode}"
