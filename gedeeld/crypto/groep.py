"""ristretto255 through rbcl (libsodium): typed scalars and elements, hashing to the group.

No curve arithmetic is written here; every group operation is a libsodium call.
Scalars are also handled as Python ints modulo the group order where only field
arithmetic is needed (Shamir, Lagrange), converted at the edge.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import rbcl

from gedeeld.fouten import CryptoError

ORDE = 2**252 + 27742317777372353535851937790883648493
LENGTE = 32
IDENTITEIT = bytes(LENGTE)


class Teller:
    """Counts the expensive group operations of this process, for ``make bench`` (exact cost figures,
    independent of the machine's load). A plain int per kind: increments are cheap next to the
    operations, and the bench reads them single-threaded."""

    def __init__(self) -> None:
        self.maal = 0  # variable-base scalar multiplications
        self.basis_maal = 0  # fixed-base (generator) scalar multiplications
        self.inverse = 0  # scalar inversions

    def stand(self) -> tuple[int, int, int]:
        return self.maal, self.basis_maal, self.inverse


TELLER = Teller()


@dataclass(frozen=True)
class Scalar:
    """An element of Z/ORDE, 32 bytes little-endian (canonical)."""

    data: bytes

    def __repr__(self) -> str:
        return "Scalar(<verborgen>)"

    @classmethod
    def van_int(cls, n: int) -> Scalar:
        return cls((n % ORDE).to_bytes(LENGTE, "little"))

    def als_int(self) -> int:
        return int.from_bytes(self.data, "little")

    @classmethod
    def willekeurig(cls) -> Scalar:
        return cls(rbcl.crypto_core_ristretto255_scalar_random())

    @classmethod
    def lees(cls, data: bytes) -> Scalar:
        """Deserialize; reject non-canonical encodings."""
        if len(data) != LENGTE or int.from_bytes(data, "little") >= ORDE:
            raise CryptoError("invalid scalar encoding")
        return cls(bytes(data))

    def inverse(self) -> Scalar:
        if self.als_int() == 0:
            raise CryptoError("zero scalar has no inverse")
        TELLER.inverse += 1
        return Scalar(rbcl.crypto_core_ristretto255_scalar_invert(self.data))

    def __mul__(self, other: Scalar) -> Scalar:
        return Scalar(rbcl.crypto_core_ristretto255_scalar_mul(self.data, other.data))

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar(rbcl.crypto_core_ristretto255_scalar_sub(self.data, other.data))


@dataclass(frozen=True)
class Element:
    """A ristretto255 group element, 32 bytes canonical encoding, never the identity."""

    data: bytes

    @classmethod
    def lees(cls, data: bytes) -> Element:
        """Deserialize; reject invalid encodings and the identity (RFC 9497 §2.1)."""
        if len(data) != LENGTE or not rbcl.crypto_core_ristretto255_is_valid_point(bytes(data)):
            raise CryptoError("invalid group element")
        if data == IDENTITEIT:  # libsodium calls the identity valid; RFC 9497 does not
            raise CryptoError("the identity element is not allowed")
        return cls(bytes(data))

    @classmethod
    def basis_maal(cls, k: Scalar) -> Element:
        TELLER.basis_maal += 1
        return cls(rbcl.crypto_scalarmult_ristretto255_base(k.data))

    def maal(self, k: Scalar) -> Element:
        TELLER.maal += 1
        try:
            return Element(rbcl.crypto_scalarmult_ristretto255(k.data, self.data))
        except Exception as exc:  # libsodium refuses an identity result
            raise CryptoError("scalar multiplication gave the identity") from exc

    def __add__(self, other: Element) -> Element:
        return Element(rbcl.crypto_core_ristretto255_add(self.data, other.data))


def _i2osp(n: int, lengte: int) -> bytes:
    return n.to_bytes(lengte, "big")


def expand_message_xmd(msg: bytes, dst: bytes, lengte: int) -> bytes:
    """RFC 9380 §5.3.1 with SHA-512."""
    b_len, r_len = 64, 128
    ell = -(-lengte // b_len)
    if ell > 255 or lengte > 65535 or len(dst) > 255:
        raise ValueError("expand_message_xmd: parameters out of range")
    dst_prime = dst + _i2osp(len(dst), 1)
    b0 = hashlib.sha512(b"\x00" * r_len + msg + _i2osp(lengte, 2) + b"\x00" + dst_prime).digest()
    b = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        prev = bytes(x ^ y for x, y in zip(b0, b[-1], strict=True))
        b.append(hashlib.sha512(prev + _i2osp(i, 1) + dst_prime).digest())
    return b"".join(b)[:lengte]


def hash_to_group(msg: bytes, dst: bytes) -> Element:
    return Element(rbcl.crypto_core_ristretto255_from_hash(expand_message_xmd(msg, dst, 64)))


def hash_to_scalar(msg: bytes, dst: bytes) -> Scalar:
    return Scalar(rbcl.crypto_core_ristretto255_scalar_reduce(expand_message_xmd(msg, dst, 64)))
