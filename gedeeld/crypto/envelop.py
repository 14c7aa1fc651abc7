"""HPKE envelopes (RFC 9180 base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
ChaCha20-Poly1305) from ``cryptography``. An envelope is a version byte, then
HPKE's enc || ciphertext. The context (what, for whom) goes into ``info``."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from gedeeld.crypto.sleutel import PriveSleutel
from gedeeld.fouten import DecryptionError

VERSIE = 1
_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)


class Ontsleutelsleutel(PriveSleutel[X25519PrivateKey]):
    """An X25519 private key that opens the envelopes sealed to its public key."""

    _soort = X25519PrivateKey

    def open(self, envelop: bytes, info: bytes) -> bytes:
        if len(envelop) < 1 + 32 + 16 or envelop[0] != VERSIE:
            raise DecryptionError("not a version-1 envelope")
        try:
            return _SUITE.decrypt(envelop[1:], self._sleutel, info=info)
        except Exception as exc:  # cryptography raises InvalidTag and friends
            raise DecryptionError("envelope cannot be opened") from exc


def verzegel(ontvanger_publiek: bytes, inhoud: bytes, info: bytes) -> bytes:
    try:
        sleutel = X25519PublicKey.from_public_bytes(ontvanger_publiek)
    except ValueError as exc:
        raise DecryptionError("invalid recipient key") from exc
    return bytes([VERSIE]) + _SUITE.encrypt(inhoud, sleutel, info=info)
