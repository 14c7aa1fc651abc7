"""The private-key wrapper both key kinds share: raw 32 bytes on disk, never shown in a repr.

``Ondertekensleutel`` (Ed25519, gedeeld/crypto/handtekening.py) and ``Ontsleutelsleutel``
(X25519, gedeeld/crypto/envelop.py) add what the key is for; the key object of ``cryptography``
stays inside.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Self, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

_RAW = serialization.Encoding.Raw
K = TypeVar("K", Ed25519PrivateKey, X25519PrivateKey)


class PriveSleutel(Generic[K]):
    # The key class of ``cryptography`` (generate, from_private_bytes); set by each subclass.
    _soort: ClassVar[Any]

    def __init__(self, sleutel: K) -> None:
        self._sleutel: K = sleutel

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<verborgen>)"

    @classmethod
    def nieuw(cls) -> Self:
        return cls(cls._soort.generate())

    @classmethod
    def lees(cls, raw: bytes) -> Self:
        return cls(cls._soort.from_private_bytes(raw))

    def als_bytes(self) -> bytes:
        geen = serialization.NoEncryption()  # stored raw, mode 0600 (gedeeld/federatie/sleutels.py)
        return self._sleutel.private_bytes(_RAW, serialization.PrivateFormat.Raw, geen)

    @property
    def publiek(self) -> bytes:
        return self._sleutel.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
