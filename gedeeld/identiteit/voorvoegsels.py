"""The voorvoegsels (surname prefixes) that are split off a surname.

The list is built from the words of the BRP's table of voorvoegsels (Tabel 36
of the LO GBA / BRP: "van", "van der", "in 't", "d'", "von", "dos", "el", …).
That table lists whole combinations ("van den", "uit den", "op de"); we keep
the single words, because any sequence of them forms a voorvoegsel and the
match keys drop the voorvoegsel anyway. Words are in folded form (``vouw``).
"""

from __future__ import annotations

# Elided articles are written with an apostrophe ("'t Hart", "d'Ancona",
# "'s-Gravesande", "l'Ecluse") that is often lost ("t Hart"); one canonical
# form per letter, so "t", "'t" and "’t" are the same word.
ELISIES: dict[str, str] = {"t": "'t", "s": "'s", "d": "d'", "l": "l'"}
# A lone "t" or "s" is always an article that lost its apostrophe; a lone "d"
# is usually the "d" of "v.d." (van der/den/de), so it stays a plain word.
ALTIJD_ELISIE = frozenset({"t", "s"})

VOORVOEGSEL_WOORDEN: frozenset[str] = frozenset(
    {
        # Dutch: van, de, der, den, het, 't, te, ten, ter, in 't, op de, uit den, …
        "van", "de", "der", "den", "het", "te", "ten", "ter", "in", "op", "uit", "uijt",
        "aan", "bij", "onder", "over", "voor", "tot", "toe", "ver",
        "'t", "'s",
        # Abbreviations on forms: "v. Dijk", "v.d. Berg", "v/d Berg" (dots and
        # slashes fold to spaces, so "v.d." arrives as "v d"); "d" and "l" are
        # also "d'" and "l'" that lost their apostrophe.
        "v", "vd", "d", "l",
        # French: d', l', la, le, les, du, des
        "d'", "l'", "la", "le", "les", "du", "des",
        # German: von, vom, zu, zum, zur, dem, auf, aus, am
        "von", "vom", "zu", "zum", "zur", "dem", "auf", "aus", "am",
        # Portuguese, Spanish, Italian: da, das, do, dos, di, del, della, …
        "da", "das", "do", "dos", "di", "del", "della", "dei", "degli", "lo", "los", "las",
        "dal", "dalla",
        # Arabic article and "son of", as the BRP table has them: el, al, ben, bin
        "el", "al", "ben", "bin",
    }
)  # fmt: skip


def is_voorvoegsel(woord: str) -> bool:
    """True iff ``woord`` (folded, elisions in canonical form) is a voorvoegsel word."""
    return woord in VOORVOEGSEL_WOORDEN
