"""The burgerservicenummer (BSN): normalisation and the 11-proef.

Error messages name the field and the rule, never the number itself: they end
up in logs and in gRPC status details (see ``gedeeld.fouten``).
"""

from __future__ import annotations

from gedeeld.fouten import FieldViolation, ValidationError

# Separators people type inside a BSN ("1234.56.782", "123 456 782", "123-456-782").
_SCHEIDINGSTEKENS = frozenset(" .-\u2010\u2011\u2013")
_CIJFERS = frozenset("0123456789")

# Weights of the 11-proef: 9..2 for the first eight digits, -1 for the check digit.
_GEWICHTEN = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def normaliseer_bsn(raw: str, *, veld: str = "bsn") -> str:
    """Return the nine ASCII digits of ``raw``, or raise ``ValidationError``.

    Spaces (any whitespace), dots and dashes are dropped. Eight digits are
    left-padded with a zero: old sofinummers and spreadsheets lose the leading
    zero. Anything else that is not an ASCII digit is rejected (``str.isdigit``
    would accept Arabic-Indic and full-width digits, which no register issues).
    ``veld`` is the field path put in the violation (``betrokkenen[0].bsn``).
    Does not apply the 11-proef: see ``valideer_bsn``.
    """
    cijfers: list[str] = []
    for teken in raw:
        if teken in _CIJFERS:
            cijfers.append(teken)
        elif teken in _SCHEIDINGSTEKENS or teken.isspace():
            continue
        else:
            raise ValidationError(
                FieldViolation(veld, "mag alleen cijfers, spaties, punten en streepjes bevatten")
            )
    if len(cijfers) == 8:
        cijfers.insert(0, "0")
    if len(cijfers) != 9:
        raise ValidationError(FieldViolation(veld, "moet uit 9 cijfers bestaan (of 8 zonder voorloopnul)"))
    return "".join(cijfers)


def is_geldig_bsn(s: str) -> bool:
    """True iff ``s`` is nine ASCII digits, not all zero, that pass the 11-proef.

    The 11-proef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11. Expects
    an already normalised string; never raises.
    """
    if len(s) != 9 or not all(teken in _CIJFERS for teken in s):
        return False
    if s == "000000000":
        # 0 is divisible by 11, but no BSN is all zeros; forms use it as "unknown".
        return False
    som = sum(gewicht * int(cijfer) for gewicht, cijfer in zip(_GEWICHTEN, s, strict=True))
    return som % 11 == 0


def valideer_bsn(raw: str, *, veld: str = "bsn") -> str:
    """Normalise ``raw`` and check the 11-proef; return the nine digits or raise."""
    bsn = normaliseer_bsn(raw, veld=veld)
    if not is_geldig_bsn(bsn):
        raise ValidationError(FieldViolation(veld, "voldoet niet aan de elfproef"))
    return bsn
