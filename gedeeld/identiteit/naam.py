"""Surnames and initials in the canonical form the match keys are built from.

A surname is parsed into *naamdelen*: each part is a kern (the letters that
identify the family) with the voorvoegsel written before it. The rules, with
examples (all give the same result regardless of case, diacritics and spacing):

- voorvoegsels in front, behind, or behind a comma are the same:
  "van den Berg" = "Berg van den" = "Berg, van den" = "Van Den BERG"
  -> one part, voorvoegsel "van den", kern "berg";
- a hyphen, a space between two non-voorvoegsel words, or a voorvoegsel in
  the middle starts a new part: "Jansen-de Vries" = "Jansen de Vries"
  -> parts ("", "jansen") and ("de", "vries");
- a part that consists only of voorvoegsel words keeps its last word as kern,
  so that surnames such as "Le", "Du", "Van" or "Jansen-Le" survive:
  "Le" -> ("", "le"), "van Le" -> ("van", "le");
- a voorvoegsel-only part *before* a hyphen belongs to the next part:
  "'s-Gravesande" -> ("'s", "gravesande"), "El-Amrani" -> ("el", "amrani");
- apostrophes inside a word are dropped unless they elide an article:
  "O'Brien" -> kern "obrien", "d'Ancona" -> ("d'", "ancona").
"""

from __future__ import annotations

from dataclasses import dataclass

from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.identiteit.voorvoegsels import ALTIJD_ELISIE, ELISIES, is_voorvoegsel
from gedeeld.identiteit.vouwen import vouw

# How many parts of a long multi-part surname get a key of their own: enough
# for Dutch double names and Iberian "da Silva dos Santos Pereira", while a
# pathological input cannot multiply the OPRF evaluations per person.
MAX_DELEN_MET_SLEUTEL = 3

_STREEP = "-"


@dataclass(frozen=True)
class Naamdeel:
    """One part of a surname: ``kern`` is ``[a-z]+``, ``voorvoegsel`` folded words or ""."""

    voorvoegsel: str
    kern: str

    def __repr__(self) -> str:
        # Names are identifiers: keep them out of logs and tracebacks.
        return "Naamdeel(<verborgen>)"

    @property
    def tekst(self) -> str:
        return f"{self.voorvoegsel} {self.kern}" if self.voorvoegsel else self.kern


@dataclass(frozen=True)
class Achternaam:
    """A parsed surname: one or more parts in the order they were written."""

    delen: tuple[Naamdeel, ...]

    def __repr__(self) -> str:
        return f"Achternaam(<{len(self.delen)} delen, verborgen>)"

    @property
    def kernnaam(self) -> str:
        """The kern of the first part: "Van Den BERG" -> "berg"."""
        return self.delen[0].kern

    @property
    def voorvoegsel(self) -> str:
        """The voorvoegsel of the first part: "Berg, van den" -> "van den"."""
        return self.delen[0].voorvoegsel

    @property
    def tekst(self) -> str:
        """Canonical text; ``normaliseer_achternaam(a.tekst) == a`` (idempotence)."""
        return _STREEP.join(deel.tekst for deel in self.delen)

    @property
    def matchnamen(self) -> tuple[str, ...]:
        """The names that get a match key, in a fixed order, without repeats.

        Each part's kern (at most ``MAX_DELEN_MET_SLEUTEL``), then for a
        multi-part name all kerns joined. "Jansen-de Vries" -> ("jansen",
        "vries", "jansenvries"): she matches a region that knows her as
        "de Vries", one that knows her as "Jansen", one that wrote
        "de Vries-Jansen", and one that wrote the name without separators.
        """
        namen = [deel.kern for deel in self.delen[:MAX_DELEN_MET_SLEUTEL]]
        if len(self.delen) > 1:
            namen.append("".join(deel.kern for deel in self.delen))
        return tuple(dict.fromkeys(namen))


def normaliseer_achternaam(raw: str, *, veld: str = "achternaam") -> Achternaam:
    """Parse ``raw`` into an ``Achternaam``; raise ``ValidationError`` if it has no letters."""
    gevouwen = vouw(raw)
    if "," in gevouwen:
        # "Berg, van den" is the register's inverted form of "van den Berg".
        hoofd, _, staart = gevouwen.partition(",")
        gevouwen = f"{staart.replace(',', ' ')} {hoofd}"
    delen = _ontleed(_woorden(gevouwen))
    if not delen:
        raise ValidationError(FieldViolation(veld, "bevat geen (Latijnse) letters"))
    return Achternaam(tuple(delen))


def initiaal(voornamen: str, *, veld: str = "voornamen") -> str:
    """The first letter of the first given name, folded: "Éva Maria" -> "e", "Ĳsbrand" -> "i"."""
    for teken in vouw(voornamen):
        if "a" <= teken <= "z":
            return teken
    raise ValidationError(FieldViolation(veld, "bevat geen (Latijnse) letters"))


def _woorden(gevouwen: str) -> list[str]:
    """Split folded text into words and hyphen markers; resolve apostrophes."""
    tokens: list[str] = []
    for stuk in gevouwen.replace(_STREEP, f" {_STREEP} ").split():
        if stuk == _STREEP:
            tokens.append(_STREEP)
            continue
        huidig = ""
        for brok in stuk.split("'"):
            if brok in ELISIES and ("'" in stuk or brok in ALTIJD_ELISIE):
                # "d'Ancona" -> "d'", "ancona"; "in't" -> "in", "'t"; "t Hart" -> "'t", "hart".
                if huidig:
                    tokens.append(huidig)
                    huidig = ""
                tokens.append(ELISIES[brok])
            else:
                # Any other apostrophe is spelling, not structure: "O'Brien" -> "obrien".
                huidig += brok
        if huidig:
            tokens.append(huidig)
    return tokens


def _ontleed(tokens: list[str]) -> list[Naamdeel]:
    """Group words into parts; see the module docstring for the rules."""
    delen: list[Naamdeel] = []
    voorvoegsel: list[str] = []
    los_na_streep = False  # the pending voorvoegsel words started right after a hyphen
    vorige_streep = False
    for token in tokens:
        if token == _STREEP:
            vorige_streep = True
            continue
        if is_voorvoegsel(token):
            if not voorvoegsel:
                los_na_streep = vorige_streep
            voorvoegsel.append(token)
        else:
            delen.append(Naamdeel(" ".join(voorvoegsel), token))
            voorvoegsel = []
        vorige_streep = False
    if voorvoegsel:
        if not delen or los_na_streep:
            # Only voorvoegsel words ("Le", "Jansen-Le"): the last one is the name itself.
            kern = voorvoegsel[-1].replace("'", "")
            delen.append(Naamdeel(" ".join(voorvoegsel[:-1]), kern))
        else:
            # Trailing voorvoegsel without a comma ("Berg van den") belongs to the last part.
            laatste = delen[-1]
            woorden = [*voorvoegsel, *laatste.voorvoegsel.split()]
            delen[-1] = Naamdeel(" ".join(woorden), laatste.kern)
    return delen
