"""Cryptography of the federation: a safe layer over libsodium (rbcl) and ``cryptography``.

Callers get tokens, proofs, signatures and envelopes; scalars never leave this package
except as key shares inside the ceremony and the share holder.
"""

from gedeeld.crypto.drempel import DeelEvaluatie, Verzoek, evalueer_deel
from gedeeld.crypto.envelop import Ontsleutelsleutel, verzegel
from gedeeld.crypto.groep import Element, Scalar
from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.crypto.oprf import Modus, oprf
from gedeeld.crypto.shamir import Sleuteldeel, lagrange, splits

__all__ = [
    "DeelEvaluatie",
    "Element",
    "Modus",
    "Ondertekensleutel",
    "Ontsleutelsleutel",
    "Scalar",
    "Sleuteldeel",
    "Verzoek",
    "evalueer_deel",
    "lagrange",
    "oprf",
    "splits",
    "verifieer",
    "verzegel",
]
