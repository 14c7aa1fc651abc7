"""What a trend release looks like on the wire: its envelope kind and id (its subject and size
limit are ``onderwerpen.trend`` and ``onderwerpen.MAX_BERICHT``)."""

from __future__ import annotations

from services.trendradar.tellen import Periode

SOORT = "trend"  # the Ondertekend envelope's kind


def release_id(regio: str, periode: Periode) -> str:
    return f"{regio}/{periode}"
