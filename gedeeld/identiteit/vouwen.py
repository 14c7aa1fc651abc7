"""Folding free text to the small alphabet that names are compared in.

``vouw`` maps any string to lower-case ASCII letters plus the three marks the
surname parser still needs (apostrophe, hyphen, comma) and single spaces.
Every character of its output is a fixed point of every step, so folding is
idempotent: ``vouw(vouw(x)) == vouw(x)``.
"""

from __future__ import annotations

import unicodedata

# Before NFKD: the many apostrophes and dashes people (and keyboards) use. The
# acute accent U+00B4 must be mapped first, NFKD would turn it into a space.
_TEKENS = str.maketrans(
    {
        "\u2019": "'",  # right single quotation mark, the usual "typographic" apostrophe
        "\u2018": "'",
        "\u02bc": "'",  # modifier letter apostrophe
        "\u0060": "'",  # grave accent typed instead of an apostrophe
        "\u00b4": "'",  # acute accent typed instead of an apostrophe
        "\u2032": "'",  # prime
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)

# After NFKD and casefold: letters that have no decomposition into a base
# letter plus combining marks. (ĳ, ß and the ﬁ-style ligatures need no entry:
# NFKD and casefold already turn them into "ij", "ss", "fi".)
_LETTERS = str.maketrans(
    {
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ł": "l",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
    }
)

_BEHOUDEN = frozenset("abcdefghijklmnopqrstuvwxyz',-")


def vouw(tekst: str) -> str:
    """Fold ``tekst``: diacritics and ligatures folded, lower case, ``[a-z',-]`` and spaces.

    "Éva" -> "eva", "Ĳsselmeer" -> "ijsselmeer", "Strauß" -> "strauss",
    "Bjørn" -> "bjorn", "d’Ancona" -> "d'ancona". Letters of non-Latin scripts
    become spaces: transliteration is the registering side's job (the BRP
    stores names in Latin script).
    """
    tekst = unicodedata.normalize("NFKD", tekst.translate(_TEKENS)).casefold()
    tekst = unicodedata.normalize("NFKD", tekst.translate(_LETTERS))
    tekens = (teken if teken in _BEHOUDEN else " " for teken in tekst if not unicodedata.combining(teken))
    return " ".join("".join(tekens).split())
