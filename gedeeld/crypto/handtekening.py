"""Ed25519 signatures with domain separation; verification raises."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gedeeld.crypto.sleutel import PriveSleutel
from gedeeld.fouten import InvalidSignatureError


class Ondertekensleutel(PriveSleutel[Ed25519PrivateKey]):
    """An Ed25519 private key that signs with domain separation."""

    _soort = Ed25519PrivateKey

    def onderteken(self, domein: bytes, bericht: bytes) -> bytes:
        return self._sleutel.sign(domein + b"\x00" + bericht)


def verifieer(publiek: bytes, domein: bytes, bericht: bytes, handtekening: bytes) -> None:
    """Raise InvalidSignatureError unless ``handtekening`` is valid for ``domein || 0 || bericht``."""
    try:
        Ed25519PublicKey.from_public_bytes(publiek).verify(handtekening, domein + b"\x00" + bericht)
    except (InvalidSignature, ValueError) as exc:
        raise InvalidSignatureError("signature does not verify") from exc
