"""Checks on request fields that every service's API shares: the ids the server handed out."""

from __future__ import annotations

import re

from gedeeld.fouten import FieldViolation, ValidationError

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def uuid_id(waarde: str, veld: str, wat: str) -> str:
    """An id the server handed out (UUID, lower case); ``wat`` names it in the Dutch message."""
    if not _UUID.match(waarde):
        raise ValidationError(FieldViolation(veld, f"is geen geldig {wat} (UUID, kleine letters)"))
    return waarde


def casus_id(waarde: str, veld: str = "casus_id") -> str:
    return uuid_id(waarde, veld, "casus-id")
