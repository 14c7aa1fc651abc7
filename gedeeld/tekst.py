"""One rule for free text, whether it comes from a user over gRPC or from another region.

A text field is refused (never cut or cleaned silently) when it is longer than its maximum, holds
a control character (NUL, escape, …; a newline or tab only where the field allows several lines),
a bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069: they make a name display as
something else, "Trojan Source"), a lone surrogate, a non-character or a private-use character.
The same check runs before SQLite and PostgreSQL see the text, so both refuse the same inputs (a
NUL byte in PostgreSQL TEXT is a database error, not an IntegrityError).

Descriptions are Dutch (they reach procesregisseurs as field violations) and never quote the value.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from gedeeld.fouten import FieldViolation, ValidationError

_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
_REGELS = frozenset("\n\t")


@dataclass(frozen=True)
class Tekstfout:
    """Why a text was refused, in Dutch, without the value."""

    reden: str


def tekstfout(waarde: str, *, maximum: int, meerdere_regels: bool = False) -> Tekstfout | None:
    """None when ``waarde`` is acceptable, else why not. ``maximum`` counts code points."""
    if len(waarde) > maximum:
        return Tekstfout(f"te lang (maximaal {maximum} tekens)")
    for teken in waarde:
        code = ord(teken)
        if code in _BIDI:
            return Tekstfout("bevat een teken dat de leesrichting omkeert; dat is niet toegestaan")
        categorie = unicodedata.category(teken)
        if categorie == "Cc":
            if meerdere_regels and teken in _REGELS:
                continue
            return Tekstfout("bevat een besturingsteken; dat is niet toegestaan")
        if categorie in ("Cs", "Co", "Cn"):
            return Tekstfout("bevat een ongeldig of niet-toegewezen teken")
    return None


def controleer_tekst(veld: str, waarde: str, *, maximum: int, meerdere_regels: bool = False) -> str:
    """``waarde`` unchanged, or ValidationError with one field violation for ``veld``."""
    fout = tekstfout(waarde, maximum=maximum, meerdere_regels=meerdere_regels)
    if fout is not None:
        raise ValidationError(FieldViolation(veld, fout.reden))
    return waarde
