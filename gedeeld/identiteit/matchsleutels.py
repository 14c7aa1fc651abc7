"""Match keys: the OPRF inputs derived from one person's identifying data.

One person gives several keys; two regions know the same person when any key
of theirs is equal (the OPRF makes equal keys equal tokens). Per person:

- ``bsn``: the BSN, only when one is given (it must pass the 11-proef);
- ``naam_datum``: surname kern, first initial, date of birth — one key per
  match name of the surname (``Achternaam.matchnamen``: each part of a double
  name, and the parts joined);
- ``fonetisch_datum``: the same with the phonetic code of each match name;
- ``naam_datum_gewisseld`` / ``fonetisch_datum_gewisseld``: when day and month
  could have been swapped (day <= 12 and day != month), the same names with
  the *unordered* pair {day, month} and the year. A person registered as
  03-05-1990 in one region and 05-03-1990 in another emits the same unordered
  key {03, 05} on both sides, so they match — on a key type that tells the
  procesregisseur the dates differ by a swap.

Encoding (the exact bytes every region must produce; see docs/matchsleutels.md):

    b"zvh-matchsleutel-v1" 0x00 type 0x00 field_1 0x00 ... 0x00 field_n

with the fields, all ASCII from ``[0-9A-Za-z-]``, non-empty:

    bsn                         bsn (9 digits)
    naam_datum                  kern, initiaal, JJJJ-MM-DD
    fonetisch_datum             code, initiaal, JJJJ-MM-DD
    naam_datum_gewisseld        kern, initiaal, JJJJ, laagste, hoogste (2 digits)
    fonetisch_datum_gewisseld   code, initiaal, JJJJ, laagste, hoogste (2 digits)

No part contains 0x00, so splitting on 0x00 recovers the domain, the type and
every field: the encoding is injective, and the label keeps keys of different
types (and of a future v2) apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TypeVar

from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.identiteit.bsn import valideer_bsn
from gedeeld.identiteit.fonetisch import fonetische_code
from gedeeld.identiteit.naam import initiaal, normaliseer_achternaam

SLEUTEL_DOMEIN = b"zvh-matchsleutel-v1"

# Nobody born before this is a ZVH client; earlier dates are placeholders
# ("0001-01-01", "1800-01-01") that would make everyone with one collide.
VROEGSTE_GEBOORTEJAAR = 1900

_T = TypeVar("_T")

_SCHEIDING = b"\x00"
_VELD = re.compile(r"[0-9A-Za-z-]+")


class SleutelType(StrEnum):
    """The kind of a match key; its value is the domain-separating label."""

    BSN = "bsn"
    NAAM_DATUM = "naam_datum"
    FONETISCH_DATUM = "fonetisch_datum"
    NAAM_DATUM_GEWISSELD = "naam_datum_gewisseld"
    FONETISCH_DATUM_GEWISSELD = "fonetisch_datum_gewisseld"


_AANTAL_VELDEN: dict[SleutelType, int] = {
    SleutelType.BSN: 1,
    SleutelType.NAAM_DATUM: 3,
    SleutelType.FONETISCH_DATUM: 3,
    SleutelType.NAAM_DATUM_GEWISSELD: 5,
    SleutelType.FONETISCH_DATUM_GEWISSELD: 5,
}


@dataclass(frozen=True)
class PersoonsGegevens:
    """A betrokkene's identifying data as registered; ``achternaam`` may hold voorvoegsels.

    ``bsn`` is ``None`` when unknown (an empty string is not "unknown" but
    invalid input: callers map their own "not set" to ``None``).
    """

    bsn: str | None
    achternaam: str
    voornamen: str
    geboortedatum: date

    def __repr__(self) -> str:
        # Identifiers in clear must not reach logs or tracebacks.
        return "PersoonsGegevens(<verborgen>)"


@dataclass(frozen=True)
class Matchsleutel:
    """One match key: ``waarde`` is the exact OPRF input (see the module docstring)."""

    type: SleutelType
    waarde: bytes = field(repr=False)


def codeer_sleutel(type_: SleutelType, velden: Sequence[str]) -> bytes:
    """Encode one key's fields; ``ValueError`` on a field outside the encoding's alphabet.

    The alphabet check is what makes the encoding injective, so it is enforced
    here rather than trusted to the callers.
    """
    if len(velden) != _AANTAL_VELDEN[type_]:
        raise ValueError(f"{type_} needs {_AANTAL_VELDEN[type_]} fields, got {len(velden)}")
    if not all(_VELD.fullmatch(veld) for veld in velden):
        raise ValueError(f"{type_}: a field is empty or outside [0-9A-Za-z-]")
    delen = [SLEUTEL_DOMEIN, type_.value.encode("ascii"), *(v.encode("ascii") for v in velden)]
    return _SCHEIDING.join(delen)


def leid_matchsleutels(p: PersoonsGegevens) -> list[Matchsleutel]:
    """All match keys of ``p`` in a fixed order without repeats; ``ValidationError`` if invalid.

    Order: bsn, naam_datum, fonetisch_datum, naam_datum_gewisseld,
    fonetisch_datum_gewisseld; within a type, in the order of the match names.
    Every bad field is reported at once.
    """
    fouten: list[FieldViolation] = []
    bsn = _of_fouten(fouten, lambda: None if p.bsn is None else valideer_bsn(p.bsn))
    achternaam = _of_fouten(fouten, lambda: normaliseer_achternaam(p.achternaam))
    letter = _of_fouten(fouten, lambda: initiaal(p.voornamen))
    d = p.geboortedatum
    if d.year < VROEGSTE_GEBOORTEJAAR:
        fouten.append(FieldViolation("geboortedatum", f"ligt voor {VROEGSTE_GEBOORTEJAAR}"))
    if fouten or achternaam is None or letter is None:
        raise ValidationError(fouten)

    namen = achternaam.matchnamen
    codes = tuple(dict.fromkeys(fonetische_code(naam) for naam in namen))
    datum = (f"{d.year:04d}-{d.month:02d}-{d.day:02d}",)
    soorten: list[tuple[SleutelType, tuple[str, ...], tuple[str, ...]]] = [
        (SleutelType.NAAM_DATUM, namen, datum),
        (SleutelType.FONETISCH_DATUM, codes, datum),
    ]
    if _kan_gewisseld_zijn(d):
        # Unordered {day, month}: the swapped registration yields the same fields.
        paar = (f"{d.year:04d}", f"{min(d.day, d.month):02d}", f"{max(d.day, d.month):02d}")
        soorten += [
            (SleutelType.NAAM_DATUM_GEWISSELD, namen, paar),
            (SleutelType.FONETISCH_DATUM_GEWISSELD, codes, paar),
        ]

    sleutels: list[Matchsleutel] = []
    if bsn is not None:
        sleutels.append(Matchsleutel(SleutelType.BSN, codeer_sleutel(SleutelType.BSN, [bsn])))
    for type_, naamvelden, datumvelden in soorten:
        for naam in naamvelden:
            waarde = codeer_sleutel(type_, [naam, letter, *datumvelden])
            sleutels.append(Matchsleutel(type_, waarde))
    return list(dict.fromkeys(sleutels))


def is_zeker(types: Iterable[SleutelType]) -> bool:
    """True iff the BSN key is among the matched key types (confidence ZEKER)."""
    return SleutelType.BSN in set(types)


def _kan_gewisseld_zijn(d: date) -> bool:
    """Day and month could be confused: the day is a valid month and differs from it."""
    return d.day <= 12 and d.day != d.month


def _of_fouten(fouten: list[FieldViolation], stap: Callable[[], _T]) -> _T | None:
    """Run one validation step; collect its violations instead of stopping at the first."""
    try:
        return stap()
    except ValidationError as fout:
        fouten.extend(fout.violations)
        return None
