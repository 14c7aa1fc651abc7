"""Identity normalisation and match keys: what a person's tokens are computed from.

- ``bsn``: normalisation and the 11-proef;
- ``vouwen`` / ``naam``: folding, voorvoegsels, double names, initials;
- ``fonetisch``: the Dutch phonetic code of a surname kern;
- ``matchsleutels``: the keys (OPRF inputs) of one person, and their encoding.

The rules and the key encoding are documented in docs/matchsleutels.md.
"""

from gedeeld.identiteit.bsn import is_geldig_bsn, normaliseer_bsn, valideer_bsn
from gedeeld.identiteit.fonetisch import fonetische_code
from gedeeld.identiteit.matchsleutels import (
    SLEUTEL_DOMEIN,
    Matchsleutel,
    PersoonsGegevens,
    SleutelType,
    codeer_sleutel,
    is_zeker,
    leid_matchsleutels,
)
from gedeeld.identiteit.naam import Achternaam, Naamdeel, initiaal, normaliseer_achternaam
from gedeeld.identiteit.voorvoegsels import VOORVOEGSEL_WOORDEN, is_voorvoegsel
from gedeeld.identiteit.vouwen import vouw

__all__ = [
    "SLEUTEL_DOMEIN",
    "VOORVOEGSEL_WOORDEN",
    "Achternaam",
    "Matchsleutel",
    "Naamdeel",
    "PersoonsGegevens",
    "SleutelType",
    "codeer_sleutel",
    "fonetische_code",
    "initiaal",
    "is_geldig_bsn",
    "is_voorvoegsel",
    "is_zeker",
    "leid_matchsleutels",
    "normaliseer_achternaam",
    "normaliseer_bsn",
    "valideer_bsn",
    "vouw",
]
