"""RFC 9497 (OPRF/VOPRF), suite ristretto255-SHA512, modes 0 (OPRF) and 1 (VOPRF).

The single-key code path reproduces the RFC's test vectors (tests/crypto). The
federation's tokens are mode-0 OPRF outputs of the federation key; DLEQ proofs
of share holders use the mode-1 (VOPRF) context (see ``threshold``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from gedeeld.crypto.groep import Element, Scalar, hash_to_group, hash_to_scalar
from gedeeld.fouten import CryptoError, InvalidProofError

SUITE = b"ristretto255-SHA512"
TOKEN_LENGTE = 64
BEWIJS_LENGTE = 64


class Modus(IntEnum):
    OPRF = 0
    VOPRF = 1


def context(modus: Modus) -> bytes:
    return b"OPRFV1-" + bytes([modus]) + b"-" + SUITE


def _len2(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def invoer_element(invoer: bytes, modus: Modus) -> Element:
    if len(invoer) > 65535:
        raise CryptoError("OPRF input too long")
    return hash_to_group(invoer, b"HashToGroup-" + context(modus))


def _scalar(msg: bytes, modus: Modus) -> Scalar:
    return hash_to_scalar(msg, b"HashToScalar-" + context(modus))


@dataclass(frozen=True)
class Sleutelpaar:
    geheim: Scalar
    publiek: Element

    def __repr__(self) -> str:
        return "Sleutelpaar(<verborgen>)"


def leid_sleutelpaar_af(seed: bytes, info: bytes, modus: Modus) -> Sleutelpaar:
    """DeriveKeyPair (RFC 9497 §3.2.1)."""
    derive_input = seed + _len2(info)
    dst = b"DeriveKeyPair" + context(modus)
    for teller in range(256):
        sk = hash_to_scalar(derive_input + bytes([teller]), dst)
        if sk.als_int() != 0:
            return Sleutelpaar(sk, Element.basis_maal(sk))
    raise CryptoError("DeriveKeyPair: no key found")


@dataclass(frozen=True)
class Verblinding:
    """The client's secret blind and the blinded element it sends."""

    blind: Scalar
    geblindeerd: Element


def verblind(invoer: bytes, modus: Modus = Modus.OPRF, blind: Scalar | None = None) -> Verblinding:
    """Blind (RFC 9497 §3.3.1); ``blind`` only for test vectors."""
    r = blind or Scalar.willekeurig()
    return Verblinding(r, invoer_element(invoer, modus).maal(r))


def evalueer(geheim: Scalar, geblindeerd: Element) -> Element:
    """BlindEvaluate: k·B."""
    return geblindeerd.maal(geheim)


def voltooi(invoer: bytes, blind: Scalar, geevalueerd: Element) -> bytes:
    """Finalize (identical for modes 0 and 1): Hash(input, unblinded element, "Finalize")."""
    return voltooi_met(invoer, geevalueerd.maal(blind.inverse()))


def voltooi_met(invoer: bytes, ontblind: Element) -> bytes:
    """Finalize given the unblinded element k·H(x) (the threshold client unblinds while combining)."""
    return hashlib.sha512(_len2(invoer) + _len2(ontblind.data) + b"Finalize").digest()


def oprf(geheim: Scalar, invoer: bytes, modus: Modus = Modus.OPRF) -> bytes:
    """The PRF output without blinding (server-side Evaluate): for tests and key holders only."""
    n = invoer_element(invoer, modus).maal(geheim)
    return hashlib.sha512(_len2(invoer) + _len2(n.data) + b"Finalize").digest()


# --- DLEQ proofs (RFC 9497 §2.2) ------------------------------------------------


def _composites(
    publiek: Element, cs: Sequence[Element], ds: Sequence[Element], modus: Modus, geheim: Scalar | None
) -> tuple[Element, Element]:
    if not cs or len(cs) != len(ds):
        raise CryptoError("proof needs equally many blinded and evaluated elements")
    seed_dst = b"Seed-" + context(modus)
    seed = hashlib.sha512(_len2(publiek.data) + _len2(seed_dst)).digest()
    m: Element | None = None
    z: Element | None = None
    for i, (c, d) in enumerate(zip(cs, ds, strict=True)):
        transcript = _len2(seed) + i.to_bytes(2, "big") + _len2(c.data) + _len2(d.data) + b"Composite"
        di = _scalar(transcript, modus)
        m = c.maal(di) if m is None else m + c.maal(di)
        if geheim is None:
            z = d.maal(di) if z is None else z + d.maal(di)
    # cs is not empty (checked above), so m and z are set; the checks narrow the types.
    if m is None:
        raise CryptoError("proof needs at least one element")
    if geheim is not None:
        return m, m.maal(geheim)
    if z is None:
        raise CryptoError("proof needs at least one element")
    return m, z


def _uitdaging(b: Element, m: Element, z: Element, t2: Element, t3: Element, modus: Modus) -> Scalar:
    transcript = b"".join(_len2(x.data) for x in (b, m, z, t2, t3)) + b"Challenge"
    return _scalar(transcript, modus)


def maak_bewijs(
    geheim: Scalar,
    publiek: Element,
    cs: Sequence[Element],
    ds: Sequence[Element],
    modus: Modus = Modus.VOPRF,
    r: Scalar | None = None,
) -> bytes:
    """GenerateProof: one (batched) proof that every d_i = k·c_i and publiek = k·G."""
    m, z = _composites(publiek, cs, ds, modus, geheim)
    r = r or Scalar.willekeurig()
    t2 = Element.basis_maal(r)
    t3 = m.maal(r)
    c = _uitdaging(publiek, m, z, t2, t3, modus)
    s = r - c * geheim
    return c.data + s.data


def controleer_bewijs(
    publiek: Element, cs: Sequence[Element], ds: Sequence[Element], bewijs: bytes, modus: Modus = Modus.VOPRF
) -> None:
    """VerifyProof; raises InvalidProofError."""
    if len(bewijs) != BEWIJS_LENGTE:
        raise InvalidProofError("proof has the wrong length")
    try:
        c, s = Scalar.lees(bewijs[:32]), Scalar.lees(bewijs[32:])
        m, z = _composites(publiek, cs, ds, modus, None)
        t2 = Element.basis_maal(s) + publiek.maal(c) if s.als_int() else publiek.maal(c)
        t3 = m.maal(s) + z.maal(c) if s.als_int() else z.maal(c)
    except CryptoError as exc:
        raise InvalidProofError("proof does not verify") from exc
    if _uitdaging(publiek, m, z, t2, t3, modus) != c:
        raise InvalidProofError("proof does not verify")
