"""Synthetic Dutch persons, and the errors registers make when they register one.

Used by ``bench/kwaliteit.py`` (and its test) to measure how well the match keys
of ``gedeeld.identiteit`` find the same person in two regions. Everything is
deterministic given the ``random.Random`` passed in.

The population aims at the real Dutch name distribution where it matters for
false matches:

- surnames: ``ACHTERNAMEN``, common surnames in the Netherlands with their
  approximate number of bearers (rounded, after the Nederlandse
  Familienamenbank; migrant surnames estimated), drawn with the share of the
  population they really have; the rest from a synthetic long tail of Dutch and
  Frisian name parts and patronymics, or, for the 14 % with a migration
  background, of Turkish, Arabic and other name parts;
- 6 % double names ("Jansen-de Vries": partner's name, then own name);
- one to four given names from a weighted list, so that initials follow a
  Dutch-like distribution; persons without a BSN more often have a migrant name;
- dates of birth uniform over 1945-2010 (ZVH clients are youths and adults);
- a valid, unique BSN (11-proef) for all but ``aandeel_zonder_bsn`` of the
  persons: undocumented people are one of the ZVH's target groups.

The error model (``Foutkansen``, ``registreer``) is described, with its rates
and why, in docs/kwaliteit.md.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta

from gedeeld.identiteit import PersoonsGegevens, is_voorvoegsel, vouw

# The registered population the bearer counts are shares of, and the part of it with a
# (non-Western) migration background, whose surnames ``MIGRANT_ACHTERNAMEN`` samples.
BEVOLKING = 17_900_000
MIGRANTEN = 2_500_000

# (surname, approximate number of bearers in the Netherlands)
ACHTERNAMEN: list[tuple[str, int]] = [
    ("de Jong", 86_000), ("Jansen", 75_000), ("de Vries", 73_000), ("van den Berg", 61_000),
    ("van Dijk", 58_000), ("Bakker", 57_000), ("Janssen", 56_000), ("Visser", 51_000),
    ("Smit", 47_000), ("Meijer", 43_000), ("de Boer", 40_000), ("Mulder", 38_000),
    ("de Groot", 37_000), ("Bos", 36_000), ("Vos", 33_000), ("Peters", 32_000),
    ("Hendriks", 31_000), ("van Leeuwen", 30_000), ("Dekker", 29_000), ("Brouwer", 26_000),
    ("de Wit", 26_000), ("Dijkstra", 25_000), ("Smits", 25_000), ("de Graaf", 24_000),
    ("van der Meer", 24_000), ("van der Linden", 23_000), ("Kok", 22_000), ("Jacobs", 22_000),
    ("de Haan", 21_000), ("Vermeulen", 21_000), ("van den Heuvel", 20_000),
    ("van der Veen", 20_000), ("van den Broek", 20_000), ("de Bruijn", 19_000),
    ("de Bruin", 19_000), ("van der Heijden", 19_000), ("Schouten", 18_000),
    ("van Beek", 18_000), ("Willems", 18_000), ("van Vliet", 18_000), ("van de Ven", 17_000),
    ("Hoekstra", 17_000), ("Maas", 17_000), ("Verhoeven", 17_000), ("Koster", 16_000),
    ("van Dam", 16_000), ("van der Wal", 16_000), ("Prins", 16_000), ("Blom", 16_000),
    ("Huisman", 16_000), ("Peeters", 15_000), ("de Jonge", 15_000), ("Kuipers", 15_000),
    ("van Veen", 15_000), ("Post", 15_000), ("Kuiper", 15_000), ("Veenstra", 15_000),
    ("Kramer", 14_000), ("van den Brink", 14_000), ("Scholten", 14_000), ("van Wijk", 14_000),
    ("Postma", 14_000), ("Martens", 14_000), ("Vink", 14_000), ("de Ridder", 14_000),
    ("Jonker", 13_000), ("van der Laan", 13_000), ("Hermans", 13_000), ("de Koning", 13_000),
    ("van Doorn", 12_000), ("Bosch", 12_000), ("Groen", 12_000), ("Gerritsen", 12_000),
    ("Mol", 12_000), ("Evers", 11_000), ("Molenaar", 11_000), ("Timmermans", 11_000),
    ("Verbeek", 11_000), ("Kuijpers", 11_000), ("van Rijn", 11_000), ("Sanders", 11_000),
    ("Wouters", 11_000), ("Bosman", 11_000), ("van den Bosch", 10_000), ("Schipper", 10_000),
    ("Hoogendoorn", 10_000), ("van der Heide", 10_000), ("Bouwman", 10_000), ("van Loon", 10_000),
    ("de Lange", 10_000), ("Wolters", 9_000), ("Boersma", 9_000), ("Koopman", 9_000),
    ("Hofman", 9_000), ("Cornelissen", 9_000), ("van Es", 9_000), ("Pronk", 9_000),
    ("Nijhuis", 9_000), ("van de Kamp", 9_000), ("van der Horst", 9_000), ("Claassen", 8_000),
    ("Kloosterman", 8_000), ("van der Veer", 8_000), ("Verheij", 8_000), ("van der Sluis", 8_000),
    ("van der Velden", 8_000), ("van Rooij", 8_000), ("van der Ploeg", 8_000),
    ("van Rooijen", 7_000), ("van der Kooij", 7_000), ("van der Zee", 7_000),
    ("van Wijngaarden", 7_000), ("Thijssen", 7_000), ("Huijsman", 6_000), ("Schuurman", 6_000),
    ("'t Hart", 6_000), ("ter Haar", 6_000), ("de Vos", 6_000), ("van Os", 6_000),
    ("de Wilde", 6_000), ("Claessens", 5_000), ("ten Brink", 5_000), ("Hendrickx", 5_000),
    ("Verhaegen", 4_000), ("ter Horst", 4_000), ("in 't Veld", 4_000), ("Meulenbelt", 3_000),
    ("van 't Hof", 2_500), ("ten Hove", 2_500), ("van 't Zand", 1_500), ("in 't Zandt", 800),
    ("uit den Bogaard", 800), ("op de Beek", 1_000), ("'s-Gravesande", 500),
    ("d'Ancona", 300), ("van 't Veer", 700), ("van der Kuijl", 1_500), ("de Clercq", 2_000),
    # Ligatures and diacritics: written so in the BRP, often lost elsewhere.
    ("Ĳzerman", 3_000), ("Ĳpelaar", 1_200), ("van Ĳsseldijk", 600), ("Noë", 500),
    ("Dupré", 800), ("Lefèvre", 600), ("Müller", 3_000), ("Schröder", 1_500), ("Dröge", 1_000),
    ("Hoëvenaars", 300), ("Gonçalves", 1_000), ("Jiménez", 800), ("Groß", 500),
    # Double family names (not the partner's name in front: that is ``DUBBELE_NAAM``).
    ("Tjeenk Willink", 100), ("Snouck Hurgronje", 50), ("de Savornin Lohman", 100),
]  # fmt: skip
# Migrant surnames with their (estimated) number of bearers; part of ``ACHTERNAMEN`` too.
MIGRANT_ACHTERNAMEN: list[tuple[str, int]] = [
    ("Yılmaz", 12_000), ("Kaya", 7_000), ("Demir", 7_000), ("Şahin", 6_000), ("Çelik", 6_000),
    ("Aydın", 5_000), ("Öztürk", 4_000), ("Yıldız", 4_000), ("Doğan", 4_000), ("Arslan", 3_500),
    ("Özdemir", 3_000), ("Koç", 2_500), ("Güneş", 2_000), ("Mohamed", 5_000), ("Ahmed", 4_000),
    ("Ali", 4_000), ("Hassan", 3_000), ("El Amrani", 2_000), ("El Idrissi", 1_500),
    ("Benali", 1_500), ("Bakkali", 1_500), ("Tahiri", 1_200), ("El Khattabi", 1_000),
    ("Bouzid", 1_000), ("Azzouzi", 1_000), ("Pinas", 2_000), ("Martina", 2_500),
    ("Sedney", 1_000), ("Ramdin", 1_000), ("Jagessar", 1_000), ("Nguyễn", 3_000),
    ("Trần", 1_500), ("Chen", 2_000), ("Nowak", 2_500), ("Kowalski", 1_500),
    ("Wiśniewski", 1_000), ("dos Santos", 2_000), ("da Silva", 2_500), ("Abdi", 1_000),
    ("Osman", 1_000),
]  # fmt: skip
NEDERLANDSE_ACHTERNAMEN = list(ACHTERNAMEN)
ACHTERNAMEN += MIGRANT_ACHTERNAMEN

# A synthetic long tail: real surnames are ~300 000 names for 17.9 million people.
VOORVOEGSEL_STAART = ["", "", "", "", "", "", "van", "de", "van der", "van den", "van de", "ter", "ten", "'t"]
VOORDEEL = [
    "berg", "dijk", "hoek", "veld", "brink", "horst", "kamp", "laan", "meer", "hof", "beek",
    "wijk", "veen", "haar", "broek", "hout", "burg", "steen", "hage", "molen", "heuvel",
    "bosch", "akker", "weide", "dam", "sluis", "linde", "eik", "rozen", "groen", "oost",
    "west", "noord", "zuid", "hoog", "laag", "klein", "groot", "zand", "haver", "koren",
    "water", "kerk", "mol", "ploeg", "smeden", "vlas", "wolde", "donk", "rijn", "maas",
    "lee", "drost", "valk", "kraai", "spijker", "mast", "tuin", "vijver", "gaast", "stroo",
    "riet", "wind", "zon", "storm", "weg", "brug", "dorp", "stad", "schaap", "paard",
]  # fmt: skip
ACHTERDEEL = [
    "", "", "", "man", "mans", "er", "ers", "ink", "inga", "stra", "sma", "ma", "en", "ing",
    "huis", "kamp", "veld", "berg", "dijk", "hof", "meijer", "boer", "beek", "horst", "broek",
    "stein", "hout", "wijk", "land", "bergen",
]  # fmt: skip
PATRONIEM_STAM = [
    "jan", "pieter", "gerrit", "hendrik", "klaas", "willem", "jacob", "dirk", "cornelis", "adriaan",
    "thijs", "marten", "evert", "lambert", "arend", "gijs", "harm", "roelof", "teunis", "wouter",
]  # fmt: skip
PATRONIEM_UITGANG = ["sen", "ssen", "se", "s", "sz", "x", "ink", "ens"]
# Migrant surnames are as varied as Dutch ones: a composed tail, or every Yılmaz would
# share a name with far too many others.
TURKSE_STAM = [
    "Yıl", "Öz", "Ak", "Kara", "Demir", "Er", "Gül", "Ay", "Kaya", "Şen", "Uy", "Kılıç", "Çak",
    "Tek", "Gök", "Bal", "Taş", "Can", "Ün", "Kor", "Bay", "Yüksel", "Sarı", "Tur", "Al",
]  # fmt: skip
TURKSE_UITGANG = [
    "maz", "demir", "türk", "can", "soy", "kaya", "taş", "oğlu", "er", "dağ", "gül", "tekin",
    "han", "ol", "ay",
]  # fmt: skip
ARABISCHE_STAM = [
    "amrani", "idrissi", "khattabi", "hamdaoui", "azzouzi", "tahiri", "bakkali", "ouali",
    "haddouchi", "zerhouni", "mansouri", "kaddouri", "jilali", "bachiri", "azizi", "hassani",
    "alaoui", "bennani", "tazi", "fassi", "berrada", "chaoui", "lamrani", "moussaoui", "ouazzani",
    "sabri", "filali", "kabbaj", "benjelloun", "rachidi", "boukhari", "ziani", "amghar",
    "bouchrit", "ait ouali", "akhandaf", "el ghazaoui", "boussaid", "karroumi", "messaoudi",
]  # fmt: skip
MIGRANT_STAART = [
    "Arslan", "Doğan", "Koç", "Kurt", "Özdemir", "Yıldız", "Güneş", "Aksoy", "Bulut", "Polat",
    "El Idrissi", "Bouzid", "Benali", "Bakkali", "Ouali", "Azzouzi", "El Khattabi", "Amrani",
    "Tahiri", "Chaouch", "Zeroual", "Haddou", "Boukhari", "Lahmar", "El Hamdaoui", "Mahdi",
    "Tran", "Le", "Pham", "Hoang", "Chen", "Wang", "Li", "Zhang", "Lin", "Wong", "Tjon",
    "Kowalczyk", "Lewandowski", "Popescu", "Ionescu", "Petrov", "Ivanović", "Jovanović",
    "Pereira", "Rodrigues", "Fernandes", "Isenia", "Kross", "Pengel", "Mohan", "Ramsaran",
    "Tesfay", "Haile", "Yusuf", "Hussein", "Farah", "Warsame", "Okafor", "Mensah", "Asante",
]  # fmt: skip

# Share of double names: the partner's name in front of the own name.
DUBBELE_NAAM = 0.06

# (given name, weight) per sex: Dutch registers hold the official names, often old-fashioned;
# the weights give a Dutch-like initial distribution (J, M, A, C, H, … most frequent).
JONGENSNAMEN: list[tuple[str, int]] = [
    ("Johannes", 25), ("Jan", 15), ("Cornelis", 12), ("Hendrik", 12), ("Petrus", 8),
    ("Jacobus", 10), ("Gerardus", 8), ("Wilhelmus", 8), ("Adrianus", 7), ("Theodorus", 5),
    ("Antonius", 6), ("Franciscus", 4), ("Daan", 6), ("Sem", 5), ("Lucas", 7), ("Thomas", 8),
    ("Tim", 8), ("Jeroen", 8), ("Mark", 8), ("Martijn", 6), ("Bas", 5), ("Niels", 5),
    ("Sander", 6), ("Kevin", 5), ("Dennis", 5), ("Noël", 2), ("Ruud", 4), ("Robert", 6),
    ("Rik", 4), ("Wouter", 5), ("Pieter", 8), ("Paul", 5), ("Dirk", 6), ("Gerrit", 6), ("Bart", 5),
    ("Bram", 5), ("Frank", 4), ("Vincent", 4), ("Quinten", 1), ("Xander", 1), ("Ĳsbrand", 1),
]  # fmt: skip
MEISJESNAMEN: list[tuple[str, int]] = [
    ("Maria", 30), ("Johanna", 15), ("Wilhelmina", 8), ("Elisabeth", 10), ("Catharina", 10),
    ("Cornelia", 8), ("Hendrika", 6), ("Geertruida", 4), ("Anna", 15), ("Adriana", 8), ("Emma", 7),
    ("Julia", 7), ("Sophie", 7), ("Lisa", 7), ("Sanne", 6), ("Anouk", 5), ("Eva", 7), ("Lotte", 5),
    ("Fleur", 4), ("Iris", 4), ("Daniëlle", 3), ("Mariëlle", 3), ("Zoë", 3), ("Chloë", 2),
    ("Renée", 2), ("Éva", 1), ("Inge", 4), ("Yvonne", 3), ("Vera", 3), ("Ülkü", 1),
]  # fmt: skip
MIGRANT_JONGENSNAMEN: list[tuple[str, int]] = [
    ("Mohamed", 10), ("Mohammed", 5), ("Ahmed", 6), ("Mustafa", 4), ("Youssef", 4), ("Ibrahim", 4),
    ("Hassan", 3), ("Omar", 3), ("Ali", 3), ("Mehmet", 5), ("Ömer", 2), ("Emre", 3), ("Murat", 3),
    ("Thanh", 1), ("Minh", 1), ("Wei", 1), ("Piotr", 2), ("Kwame", 1), ("Abdullahi", 1),
]  # fmt: skip
MIGRANT_MEISJESNAMEN: list[tuple[str, int]] = [
    ("Fatima", 8), ("Khadija", 4), ("Aisha", 3), ("Samira", 3), ("Nadia", 3), ("Ayşe", 4),
    ("Zeynep", 3), ("Özlem", 2), ("Hatice", 3), ("Amina", 3), ("Fadumo", 1), ("Thi", 1),
    ("Agnieszka", 2), ("Priya", 1), ("Mei", 1),
]  # fmt: skip

# Official first name -> call names people are known by (and that non-BRP systems register).
ROEPNAMEN: dict[str, tuple[str, ...]] = {
    "Johannes": ("Jan", "Hans", "Johan", "Joop", "Hannes"),
    "Cornelis": ("Kees", "Cor", "Cees"),
    "Hendrik": ("Henk", "Hein", "Rik"),
    "Petrus": ("Piet", "Peter"),
    "Jacobus": ("Jaap", "Koos", "Jack"),
    "Gerardus": ("Gerard", "Gert", "Ger"),
    "Wilhelmus": ("Wim", "Willem", "Pim"),
    "Adrianus": ("Adrie", "Ad", "Arie"),
    "Theodorus": ("Theo", "Dorus", "Ruud"),
    "Antonius": ("Anton", "Ton", "Toon"),
    "Franciscus": ("Frans", "Frank", "Sjaak"),
    "Maria": ("Marieke", "Mieke", "Ria", "Marja"),
    "Johanna": ("Anneke", "Jo", "Hanneke", "Joke"),
    "Wilhelmina": ("Willy", "Mien", "Wilma"),
    "Elisabeth": ("Els", "Lisa", "Bep", "Liesbeth"),
    "Catharina": ("Toos", "Tineke", "Karin", "Ria"),
    "Cornelia": ("Corrie", "Nel", "Cora"),
    "Hendrika": ("Riek", "Henny", "Rika"),
    "Geertruida": ("Truus", "Geertje", "Trudy"),
    "Adriana": ("Adrie", "Janny", "Ada"),
    "Mohamed": ("Mo",),
    "Mohammed": ("Mo",),
}

# Neighbouring keys on a QWERTY keyboard: what a slip of the finger produces.
_BUREN: dict[str, str] = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "ol", "a": "qsz", "s": "adwx", "d": "sfec", "f": "dgrv", "g": "fhtb",
    "h": "gjyn", "j": "hkum", "k": "jlim", "l": "kop", "z": "asx", "x": "zsc", "c": "xdv",
    "v": "cfb", "b": "vgn", "n": "bhm", "m": "njk",
}  # fmt: skip

# Letters that NFKD does not decompose but keyboards and older systems replace anyway.
_ZONDER_DIAKRIET = str.maketrans({"ı": "i", "İ": "I", "ß": "ss", "ẞ": "SS", "ø": "o", "Ø": "O", "ł": "l"})

VROEGST = date(1945, 1, 1)
LAATST = date(2010, 12, 31)


@dataclass(frozen=True)
class Persoon:
    """The truth about one synthetic person; ``nummer`` identifies them across registrations."""

    nummer: int
    bsn: str | None
    achternaam: str
    voornamen: str
    geboortedatum: date


@dataclass(frozen=True)
class Registratie:
    """How one region registered a person, and which errors that registration contains."""

    persoon: int
    regio: str
    bsn: str | None
    achternaam: str
    voornamen: str
    geboortedatum: date
    fouten: tuple[str, ...]

    def gegevens(self) -> PersoonsGegevens:
        return PersoonsGegevens(self.bsn, self.achternaam, self.voornamen, self.geboortedatum)


def maak_bsn(r: random.Random) -> str:
    """A random nine-digit number that passes the 11-proef (and is not all zeros)."""
    while True:
        cijfers = [r.randrange(10) for _ in range(8)]
        controle = sum(g * c for g, c in zip(range(9, 1, -1), cijfers, strict=True)) % 11
        # The check digit d9 must equal the weighted sum mod 11; 10 is no digit, so draw again.
        if controle < 10 and any(cijfers):
            return "".join(map(str, cijfers)) + str(controle)


class Generator:
    """Realistic, reproducible Dutch persons; see the module docstring."""

    def __init__(
        self,
        r: random.Random,
        *,
        aandeel_zonder_bsn: float = 0.10,
        begin: date = VROEGST,
        einde: date = LAATST,
    ) -> None:
        self._r = r
        self._aandeel_zonder_bsn = aandeel_zonder_bsn
        self._namen = [n for n, _ in NEDERLANDSE_ACHTERNAMEN]
        self._naam_gewichten = [g for _, g in NEDERLANDSE_ACHTERNAMEN]
        self._aandeel_lijst = sum(self._naam_gewichten) / (BEVOLKING - MIGRANTEN)
        self._migrant_namen = [n for n, _ in MIGRANT_ACHTERNAMEN]
        self._migrant_gewichten = [g for _, g in MIGRANT_ACHTERNAMEN]
        self._aandeel_migrant_lijst = sum(self._migrant_gewichten) / MIGRANTEN
        self._begin = begin
        self._dagen = (einde - begin).days
        self._bsns: set[str] = set()
        self._volgende = 0

    def bsn(self) -> str:
        """A valid BSN that no earlier person of this generator has."""
        while True:
            bsn = maak_bsn(self._r)
            if bsn not in self._bsns:
                self._bsns.add(bsn)
                return bsn

    def achternaam(self, *, migrant: bool = False) -> str:
        r = self._r
        if migrant:
            return self._migrant_achternaam()
        if r.random() < self._aandeel_lijst:
            return r.choices(self._namen, self._naam_gewichten)[0]
        if r.random() < 0.25:
            return (r.choice(PATRONIEM_STAM) + r.choice(PATRONIEM_UITGANG)).capitalize()
        kern = (r.choice(VOORDEEL) + r.choice(ACHTERDEEL)).capitalize()
        return f"{r.choice(VOORVOEGSEL_STAART)} {kern}".strip()

    def _migrant_achternaam(self) -> str:
        r = self._r
        if r.random() < self._aandeel_migrant_lijst:
            return r.choices(self._migrant_namen, self._migrant_gewichten)[0]
        soort = r.random()
        if soort < 0.45:
            return (r.choice(TURKSE_STAM) + r.choice(TURKSE_UITGANG)).capitalize()
        if soort < 0.8:
            stam = r.choice(ARABISCHE_STAM).title()
            return f"El {stam}" if r.random() < 0.3 and not stam.startswith("El ") else stam
        return r.choice(MIGRANT_STAART)

    def voornamen(self, *, migrant: bool = False) -> str:
        r = self._r
        meisje = r.random() < 0.5
        if migrant:
            lijst = MIGRANT_MEISJESNAMEN if meisje else MIGRANT_JONGENSNAMEN
            aantal = r.choice([1, 1, 1, 2])
        else:
            lijst = MEISJESNAMEN if meisje else JONGENSNAMEN
            aantal = r.choice([1, 2, 2, 3, 3, 4])
        namen = r.choices([n for n, _ in lijst], [g for _, g in lijst], k=aantal)
        return " ".join(dict.fromkeys(namen))

    def persoon(self) -> Persoon:
        r = self._r
        zonder_bsn = r.random() < self._aandeel_zonder_bsn
        # Undocumented people are mostly recent migrants; documented ones mirror the population.
        migrant = r.random() < (0.6 if zonder_bsn else MIGRANTEN / BEVOLKING)
        achternaam = self.achternaam(migrant=migrant)
        if r.random() < DUBBELE_NAAM:
            achternaam = f"{self.achternaam()}-{achternaam}"
        voornamen = self.voornamen(migrant=migrant)
        geboortedatum = self._begin + timedelta(days=r.randrange(self._dagen + 1))
        self._volgende += 1
        bsn = None if zonder_bsn else self.bsn()
        return Persoon(self._volgende, bsn, achternaam, voornamen, geboortedatum)


# --- The errors, one function each; ``None`` means "does not apply to this value". ---


def _is_kernwoord(woord: str) -> bool:
    gevouwen = vouw(woord)
    return bool(gevouwen) and not all(is_voorvoegsel(w) for w in gevouwen.split())


def tikfout(achternaam: str, r: random.Random) -> tuple[str, str] | None:
    """One keyboard slip in a name word (not a voorvoegsel): (new surname, kind of slip).

    Kinds: ``tikfout_invoegen`` (a neighbouring key or the same letter twice),
    ``tikfout_weglaten``, ``tikfout_vervangen`` (a neighbouring key),
    ``tikfout_verwisselen`` (two adjacent, different letters). The result
    always differs from the input.
    """
    woorden = achternaam.split(" ")
    kandidaten = [i for i, w in enumerate(woorden) if _is_kernwoord(w) and len(w) >= 3]
    if not kandidaten:
        return None
    i = r.choice(kandidaten)
    woord = woorden[i]
    letters = [j for j, t in enumerate(woord) if t.lower() in _BUREN]
    soort = r.choice(["invoegen", "weglaten", "vervangen", "verwisselen"])
    if soort == "verwisselen":
        paren = [j for j in letters if j + 1 in letters and woord[j].lower() != woord[j + 1].lower()]
        if not paren:
            return None
        j = r.choice(paren)
        nieuw = woord[:j] + woord[j + 1] + woord[j] + woord[j + 2 :]
    else:
        if not letters:
            return None
        j = r.choice(letters)
        t = woord[j]
        buur = r.choice(_BUREN[t.lower()])
        buur = buur.upper() if t.isupper() else buur
        if soort == "invoegen":
            nieuw = woord[: j + 1] + (t if r.random() < 0.5 else buur) + woord[j + 1 :]
        elif soort == "weglaten":
            nieuw = woord[:j] + woord[j + 1 :]
        else:
            nieuw = woord[:j] + buur + woord[j + 1 :]
    woorden[i] = nieuw
    return " ".join(woorden), f"tikfout_{soort}"


def voorvoegsel_achteraan(achternaam: str) -> str | None:
    """The register's inverted form: "van den Berg" -> "Berg, van den" (single names only)."""
    woorden = achternaam.split(" ")
    if "-" in achternaam or "," in achternaam:
        return None
    aantal = 0
    while aantal < len(woorden) - 1 and not _is_kernwoord(woorden[aantal]):
        aantal += 1
    if aantal == 0:
        return None
    return f"{' '.join(woorden[aantal:])}, {' '.join(woorden[:aantal])}"


def hoofdletters(tekst: str, r: random.Random) -> str:
    """Other capitalisation: every word capitalised ("Van Den Berg") or all upper case."""
    if r.random() < 0.5:
        return tekst.upper()
    return " ".join(w[:1].upper() + w[1:] for w in tekst.split(" "))


def zonder_diakrieten(tekst: str) -> str:
    """Diacritics and ligatures lost: "Éva" -> "Eva", "Noë" -> "Noe", "Ĳzerman" -> "IJzerman"."""
    ontleed = unicodedata.normalize("NFKD", tekst.translate(_ZONDER_DIAKRIET))
    return "".join(t for t in ontleed if not unicodedata.combining(t))


def wissel_dag_maand(d: date) -> date | None:
    """Day and month swapped (03-05 -> 05-03); only when the swap is a different, real date."""
    if d.day > 12 or d.day == d.month:
        return None
    return date(d.year, d.day, d.month)


def datum_tikfout(d: date, r: random.Random) -> date:
    """One part of the date off by one: day, month or the last digit of the year."""
    while True:
        deel = r.choice(["dag", "maand", "jaar"])
        stap = r.choice([-1, 1])
        try:
            if deel == "dag":
                nieuw = date(d.year, d.month, d.day + stap)
            elif deel == "maand":
                nieuw = date(d.year, d.month + stap, d.day)
            else:
                nieuw = date(d.year + stap, d.month, d.day)
        except ValueError:
            continue  # 31-04, month 13, 29-02 in a common year: a register would refuse it too
        return nieuw


def een_deel_van_dubbele_naam(achternaam: str, r: random.Random) -> str | None:
    """Only one part of a double name: "Jansen-de Vries" -> "Jansen" or "de Vries"."""
    delen = achternaam.split("-")
    if len(delen) < 2 or not all(_is_kernwoord(d) for d in delen):
        return None
    return r.choice(delen)


def alleen_eerste_voornaam(voornamen: str) -> str | None:
    """Given names shortened to the first: "Johannes Cornelis" -> "Johannes"."""
    namen = voornamen.split(" ")
    return namen[0] if len(namen) > 1 else None


def voorletters(voornamen: str) -> str:
    """Initials instead of given names: "Johannes Cornelis" -> "J.C."."""
    return "".join(f"{n[0]}." for n in voornamen.split(" "))


def roepnaam(voornamen: str, r: random.Random) -> str | None:
    """The call name instead of the official names: "Cornelis Johannes" -> "Kees"."""
    opties = ROEPNAMEN.get(voornamen.split(" ")[0])
    return r.choice(opties) if opties else None


def bsn_notatie(bsn: str, r: random.Random) -> str:
    """The same BSN written otherwise: dots, spaces, or without its leading zero."""
    if bsn.startswith("0") and r.random() < 0.5:
        return bsn[1:]  # a spreadsheet took it for a number
    scheiding = r.choice([".", " ", "-"])
    if scheiding == ".":
        return f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}"
    return scheiding.join((bsn[:3], bsn[3:6], bsn[6:]))


def ander_bsn(bsn: str, r: random.Random) -> str:
    """A wrong BSN that still passes the 11-proef: two digits changed, as two typos can do."""
    while True:
        cijfers = list(bsn)
        for i in r.sample(range(9), 2):
            cijfers[i] = str(r.randrange(10))
        nieuw = "".join(cijfers)
        if nieuw != bsn and voldoet_aan_elfproef(nieuw):
            return nieuw


def voldoet_aan_elfproef(bsn: str) -> bool:
    """The 11-proef, on its own: the generator must not depend on the code it measures."""
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    return sum(g * int(c) for g, c in zip((9, 8, 7, 6, 5, 4, 3, 2, -1), bsn, strict=True)) % 11 == 0


@dataclass(frozen=True)
class Foutkansen:
    """Per registration, the chance of each error where it applies (docs/kwaliteit.md: why these).

    A chance is conditional on the error being possible: ``voorvoegsel_achteraan``
    only for surnames with a voorvoegsel, ``dag_maand_gewisseld`` only for a
    day <= 12 that differs from the month, ``bsn_*`` only when there is a BSN.
    """

    hoofdletters: float = 0.20
    voorvoegsel_achteraan: float = 0.25
    zonder_diakrieten: float = 0.30
    tikfout: float = 0.02
    dubbele_naam_een_deel: float = 0.40
    dag_maand_gewisseld: float = 0.01
    datum_tikfout: float = 0.01
    alleen_eerste_voornaam: float = 0.40
    voorletters: float = 0.10
    roepnaam: float = 0.05
    bsn_ontbreekt: float = 0.08
    bsn_notatie: float = 0.20
    bsn_ander: float = 0.002

    @classmethod
    def namen(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def geen(cls) -> Foutkansen:
        return cls(**dict.fromkeys(cls.namen(), 0.0))

    def met(self, naam: str, kans: float) -> Foutkansen:
        """A copy with one chance changed; ``ValueError`` for an unknown error or a bad chance."""
        if naam not in self.namen():
            raise ValueError(f"unknown error {naam!r}; known: {', '.join(self.namen())}")
        if not 0.0 <= kans <= 1.0:
            raise ValueError(f"chance for {naam} must be in [0, 1], got {kans}")
        return replace(self, **{naam: kans})


def registreer(p: Persoon, regio: str, r: random.Random, kansen: Foutkansen) -> Registratie:
    """How ``regio`` registers ``p``: each error applied independently with its chance.

    Order matters where errors touch the same field: the name is shortened
    before it is inverted, typed and capitalised, as a person copying a name
    from another system would.
    """
    fouten: list[str] = []

    def treft(naam: str) -> bool:
        return r.random() < float(getattr(kansen, naam))

    achternaam = p.achternaam
    if treft("dubbele_naam_een_deel") and (deel := een_deel_van_dubbele_naam(achternaam, r)):
        achternaam = deel
        fouten.append("dubbele_naam_een_deel")
    if treft("voorvoegsel_achteraan") and (omgekeerd := voorvoegsel_achteraan(achternaam)):
        achternaam = omgekeerd
        fouten.append("voorvoegsel_achteraan")
    if treft("tikfout") and (getypt := tikfout(achternaam, r)):
        achternaam, soort = getypt
        fouten.append(soort)

    voornamen = p.voornamen
    if treft("roepnaam") and (roep := roepnaam(voornamen, r)):
        voornamen = roep
        fouten.append("roepnaam")
    elif treft("alleen_eerste_voornaam") and (eerste := alleen_eerste_voornaam(voornamen)):
        voornamen = eerste
        fouten.append("alleen_eerste_voornaam")
    elif treft("voorletters"):
        voornamen = voorletters(voornamen)
        fouten.append("voorletters")

    if treft("zonder_diakrieten"):
        kaal = (zonder_diakrieten(achternaam), zonder_diakrieten(voornamen))
        if kaal != (achternaam, voornamen):
            achternaam, voornamen = kaal
            fouten.append("zonder_diakrieten")
    if treft("hoofdletters"):
        achternaam = hoofdletters(achternaam, r)
        fouten.append("hoofdletters")

    geboortedatum = p.geboortedatum
    if treft("dag_maand_gewisseld") and (gewisseld := wissel_dag_maand(geboortedatum)):
        geboortedatum = gewisseld
        fouten.append("dag_maand_gewisseld")
    if treft("datum_tikfout"):
        geboortedatum = datum_tikfout(geboortedatum, r)
        fouten.append("datum_tikfout")

    bsn = p.bsn
    if bsn is not None:
        if treft("bsn_ontbreekt"):
            bsn = None
            fouten.append("bsn_ontbreekt")
        elif treft("bsn_ander"):
            bsn = ander_bsn(bsn, r)
            fouten.append("bsn_ander")
        elif treft("bsn_notatie"):
            bsn = bsn_notatie(bsn, r)
            fouten.append("bsn_notatie")

    return Registratie(p.nummer, regio, bsn, achternaam, voornamen, geboortedatum, tuple(fouten))
