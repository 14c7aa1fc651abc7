"""What a trend release looks like on the wire: subject, envelope kind, size, id."""

from __future__ import annotations

from services.trendradar.tellen import Periode

SOORT = "trend"  # the Ondertekend envelope's kind
MAX_BERICHT = 64 * 1024


def subject(regio: str) -> str:
    return f"zvh.trend.{regio}"


def release_id(regio: str, periode: Periode) -> str:
    return f"{regio}/{periode}"
