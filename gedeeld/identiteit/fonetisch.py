"""A Dutch-aware phonetic code for surname kerns.

The code catches spelling variants that sound the same in Dutch, so that
"Janssen" in one region matches "Jansen" in another. It is deliberately
narrow: every rule below merges spellings that Dutch registers really mix up,
and the match key still needs the initial and the date of birth, so a merged
pair only collides for people who also share those.

Steps, on the folded kern (``vouw``, letters only):

1. Doubled letters collapse: Janssen/Jansen -> "jansen", Claassen -> "clasen",
   Mool/Mol, Veen/Ven (vowel length is too often misspelled to keep; van der
   Veen and van de Ven then share a code, but rarely an initial and birthday).
2. Scan left to right, longest rule first:

   ======================  ========  ===========================================
   spelling                code      example
   ======================  ========  ===========================================
   ``sch`` at the end      ``s``     Bosch/Bos, Visch/Vis (final sch is /s/)
   ``sch`` elsewhere       ``sX``    Schouten/Sgouten; Fischer stays apart from
                                     Visser (initial sch is /sx/, not /s/)
   ``uij``, ``uy``         ``ui``    Huijsman/Huysman/Huisman, Buijs/Buys/Buis
   ``eij ij ei ey y``      ``Y``     Meijer/Meyer/Meier, Heijden/Heyden/Heiden
   ``ouw auw ou au``       ``O``     Pauw/Pouw/Paauw, Bouwman/Bauman
   ``ae``                  ``a``     Claessen/Claasen, Verhaegen/Verhagen (old
                                     spelling of long a)
   ``ch gh g``             ``X``     Vechter/Vegter, Verhaeghe/Verhage (the
                                     Dutch g and ch are one sound)
   ``ck``                  ``k``     Bakker/Backer, Hendrickx/Hendriks
   ``c`` + e/i/y           ``s``     Ceelen/Seelen
   ``c`` otherwise         ``k``     Claassen/Klaasen, Coster/Koster
   ``ph``                  ``f``     Philips/Filips
   ``v``                   ``f``     de Vries/de Fries, Visser/Fisser (v and f
                                     are both devoiced in most of the country)
   ``th``                  ``t``     Thijssen/Tijssen
   ``dt``                  ``t``     Smidt/Smit
   ``d`` at the end        ``t``     de Grood/de Groot (final devoicing)
   ``qu``                  ``kw``    Quist/Kwist
   ``q``                   ``k``
   ``x``                   ``ks``    Hendrickx/Hendriks
   ``z``                   ``s``     Janszen/Jansen, Zwart/Swart
   ======================  ========  ===========================================

3. Repeated code letters collapse again (``ck`` + ``k``, ``z`` next to ``s``).

Kept apart on purpose: ``w`` (Wolf/Volf are different names), ``ie`` and ``i``
(Pieters/Piters), ``oe`` and ``u``, a final ``b`` or ``s`` (Smit/Smits are
different families), initial ``h`` (Hendriks/Endriks is not a Dutch variant).
Upper-case letters are code symbols, so they never equal a letter that was
merely copied from the name.
"""

from __future__ import annotations

from gedeeld.identiteit.vouwen import vouw

# (spelling, code); tried longest first at each position. "sch" and "d" have
# position-dependent codes and are handled in ``_code_op``.
_REGELS: tuple[tuple[str, str], ...] = (
    ("uij", "ui"),
    ("eij", "Y"),
    ("ouw", "O"),
    ("auw", "O"),
    ("uy", "ui"),
    ("ij", "Y"),
    ("ei", "Y"),
    ("ey", "Y"),
    ("ou", "O"),
    ("au", "O"),
    ("ae", "a"),
    ("ch", "X"),
    ("gh", "X"),
    ("ck", "k"),
    ("ph", "f"),
    ("th", "t"),
    ("dt", "t"),
    ("qu", "kw"),
    ("y", "Y"),
    ("g", "X"),
    ("v", "f"),
    ("q", "k"),
    ("x", "ks"),
    ("z", "s"),
)


def fonetische_code(kern: str) -> str:
    """The phonetic code of a surname kern: "Meijer", "Meyer" and "Meier" -> "mYer".

    Any text is accepted and folded first (non-letters dropped); the empty
    string gives the empty code.
    """
    letters = "".join(teken for teken in vouw(kern) if "a" <= teken <= "z")
    tekst = _ontdubbel(letters)
    code: list[str] = []
    i = 0
    while i < len(tekst):
        stuk, lengte = _code_op(tekst, i)
        code.append(stuk)
        i += lengte
    return _ontdubbel("".join(code))


def _code_op(tekst: str, i: int) -> tuple[str, int]:
    """The code for the spelling that starts at ``tekst[i]`` and how many letters it used."""
    if tekst.startswith("sch", i):
        return ("s" if i + 3 == len(tekst) else "sX"), 3
    for spelling, code in _REGELS:
        if tekst.startswith(spelling, i):
            return code, len(spelling)
    teken = tekst[i]
    if teken == "c":
        volgende = tekst[i + 1 : i + 2]
        return ("s" if volgende in ("e", "i", "y") else "k"), 1
    if teken == "d" and i + 1 == len(tekst):
        return "t", 1
    return teken, 1


def _ontdubbel(tekst: str) -> str:
    """Collapse runs of the same character: "janssen" -> "jansen"."""
    return "".join(teken for i, teken in enumerate(tekst) if i == 0 or tekst[i - 1] != teken)
