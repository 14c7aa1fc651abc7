"""The shared match reference: one short code both regions derive from the pair.

Each region stores the match under its own id, but both know the same two
(region, opaque reference) pairs: its own signal reference and the other
region's (the treffer and the signal carry them). Sorting the pairs makes the
derivation symmetric, so both procesregisseurs see the same code, e.g.
``ZVH-7K3Q-M9TD``, and can name the match on the phone.

The references are random per casus and person (signalering), so the code says
nothing about the person. 40 bits: collisions among one region's matches are
not a practical concern, and the code is for people, not a lookup key.
"""

from __future__ import annotations

import hashlib

_ALFABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_DOMEIN = b"zvh-matchreferentie-v1"


def gedeelde_referentie(regio: str, referentie: str, andere_regio: str, andere_referentie: str) -> str:
    paren = sorted([(regio, referentie), (andere_regio, andere_referentie)])
    h = hashlib.sha256(_DOMEIN)
    for r, ref in paren:
        h.update(b"\x00" + r.encode() + b"\x00" + ref.encode())
    getal = int.from_bytes(h.digest()[:5], "big")
    tekens = "".join(_ALFABET[(getal >> (5 * i)) & 31] for i in reversed(range(8)))
    return f"ZVH-{tekens[:4]}-{tekens[4:]}"
