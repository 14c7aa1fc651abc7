"""Ed25519 signatures with domain separation; verification raises."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gedeeld.errors import InvalidSignatureError

_RAW = serialization.Encoding.Raw


class Ondertekensleutel:
    def __init__(self, sleutel: Ed25519PrivateKey) -> None:
        self._sleutel = sleutel

    def __repr__(self) -> str:
        return "Ondertekensleutel(<verborgen>)"

    @classmethod
    def nieuw(cls) -> Ondertekensleutel:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def lees(cls, raw: bytes) -> Ondertekensleutel:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def als_bytes(self) -> bytes:
        return self._sleutel.private_bytes(
            _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def publiek(self) -> bytes:
        return self._sleutel.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)

    def onderteken(self, domein: bytes, bericht: bytes) -> bytes:
        return self._sleutel.sign(domein + b"\x00" + bericht)


def verifieer(publiek: bytes, domein: bytes, bericht: bytes, handtekening: bytes) -> None:
    """Raise InvalidSignatureError unless ``handtekening`` is valid for ``domein || 0 || bericht``."""
    try:
        Ed25519PublicKey.from_public_bytes(publiek).verify(handtekening, domein + b"\x00" + bericht)
    except (InvalidSignature, ValueError) as exc:
        raise InvalidSignatureError("signature does not verify") from exc
