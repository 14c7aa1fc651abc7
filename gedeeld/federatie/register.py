"""The federation registry: reading, verifying and using it.

A registry file (``federatie.reg``) is an ``OndertekendRegister``: the serialised
``Federatieregister`` and the beheerder's Ed25519 signature over it. A node
trusts one beheerder key (configured); ``laad`` checks the signature against it
and the registry's consistency, including that the key-share commitments lie on
one polynomial of degree t-1 (checked in the exponent, so a single altered
commitment is caught).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf.message import DecodeError

from gedeeld.crypto.envelop import Ontsleutelsleutel
from gedeeld.crypto.groep import Element, Scalar
from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.crypto.shamir import Sleuteldeel, lagrange
from gedeeld.errors import ConfigError, CryptoError, DecryptionError
from gedeeld.zvh.v1 import federatie_pb2

REGISTER_DOMEIN = b"zvh-federatieregister-v1"
SLEUTELDEEL_INFO = b"zvh-sleuteldeel-v1"
_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")


class RegisterFout(ConfigError):
    """The registry is unsigned, signed by someone else, or inconsistent."""

    def __init__(self, message: str) -> None:
        super().__init__("federatie.register", message)


@dataclass(frozen=True)
class Regio:
    code: str
    naam: str
    ondertekensleutel: bytes
    hpke_sleutel: bytes
    contact: str
    index: int
    commitment: Element
    versleuteld_deel: bytes
    oin: str = ""  # the organisation's OIN, as PKIoverheid certificates carry it in serialNumber


@dataclass(frozen=True)
class Federatie:
    """A verified registry."""

    epoch: int
    drempel: int
    regios: Mapping[str, Regio]
    geldig_tot: datetime
    beheerder_sleutel: bytes

    def regio(self, code: str) -> Regio:
        r = self.regios.get(code)
        if r is None:
            raise RegisterFout(f"region {code!r} is not in the registry")
        return r

    def sleuteldeel_info(self, code: str) -> bytes:
        return SLEUTELDEEL_INFO + b"\x00" + str(self.epoch).encode() + b"\x00" + code.encode()

    def laad_sleuteldeel(self, code: str, hpke: Ontsleutelsleutel) -> Sleuteldeel:
        """Decrypt this region's own share and check it against its commitment."""
        r = self.regio(code)
        try:
            deel = Sleuteldeel(
                r.index, Scalar.lees(hpke.open(r.versleuteld_deel, self.sleuteldeel_info(code)))
            )
        except (DecryptionError, CryptoError) as exc:
            raise RegisterFout(f"cannot open the key share of {code} with this HPKE key") from exc
        if deel.commitment != r.commitment:
            raise RegisterFout(f"the key share of {code} does not match its commitment")
        return deel


def teken_register(register: federatie_pb2.Federatieregister, beheerder: Ondertekensleutel) -> bytes:
    inhoud = register.SerializeToString(deterministic=True)
    return federatie_pb2.OndertekendRegister(
        register=inhoud,
        beheerder_sleutel=beheerder.publiek,
        handtekening=beheerder.onderteken(REGISTER_DOMEIN, inhoud),
    ).SerializeToString()


def lees(data: bytes, vertrouwde_beheerder: bytes | None) -> Federatie:
    """Parse and verify. ``vertrouwde_beheerder`` None: accept the embedded key (for `verify`)."""
    try:
        env = federatie_pb2.OndertekendRegister.FromString(data)
        reg = federatie_pb2.Federatieregister.FromString(env.register)
    except DecodeError as exc:
        raise RegisterFout("not a federation registry file") from exc
    if vertrouwde_beheerder is not None and env.beheerder_sleutel != vertrouwde_beheerder:
        raise RegisterFout("signed by another beheerder key than the one this node trusts")
    try:
        verifieer(env.beheerder_sleutel, REGISTER_DOMEIN, env.register, env.handtekening)
    except CryptoError as exc:
        raise RegisterFout("the registry's signature does not verify") from exc
    return _controleer(reg, env.beheerder_sleutel)


def laad(pad: Path, vertrouwde_beheerder: bytes | None) -> Federatie:
    try:
        return lees(pad.read_bytes(), vertrouwde_beheerder)
    except OSError as exc:
        raise RegisterFout(f"cannot read {pad}: {exc.strerror}") from None


def _controleer(reg: federatie_pb2.Federatieregister, beheerder: bytes) -> Federatie:
    n = len(reg.regios)
    if reg.epoch < 1:
        raise RegisterFout("epoch must be at least 1")
    if not 1 <= reg.drempel <= n:
        raise RegisterFout(f"threshold {reg.drempel} does not fit {n} regions")
    regios: dict[str, Regio] = {}
    for r in reg.regios:
        if not _CODE.match(r.code) or r.code in regios:
            raise RegisterFout(f"invalid or repeated region code {r.code!r}")
        if len(r.ondertekensleutel) != 32 or len(r.hpke_sleutel) != 32:
            raise RegisterFout(f"region {r.code}: keys must be 32 bytes")
        try:
            commitment = Element.lees(r.sleuteldeel_commitment)
        except CryptoError as exc:
            raise RegisterFout(f"region {r.code}: invalid key-share commitment") from exc
        regios[r.code] = Regio(
            r.code,
            r.naam,
            r.ondertekensleutel,
            r.hpke_sleutel,
            r.contact,
            r.sleuteldeel_index,
            commitment,
            r.versleuteld_sleuteldeel,
            r.oin,
        )
    if sorted(r.index for r in regios.values()) != list(range(1, n + 1)):
        raise RegisterFout("share indices must be 1..n, each once")
    _controleer_polynoom(list(regios.values()), reg.drempel)
    return Federatie(
        epoch=reg.epoch,
        drempel=reg.drempel,
        regios=regios,
        geldig_tot=reg.geldig_tot.ToDatetime(tzinfo=UTC),
        beheerder_sleutel=beheerder,
    )


def _controleer_polynoom(regios: list[Regio], t: int) -> None:
    """Every commitment beyond the first t follows from those t by interpolation in the exponent."""
    basis = sorted(regios, key=lambda r: r.index)[:t]
    idx = [r.index for r in basis]
    for r in regios:
        if r.index in idx:
            continue
        som: Element | None = None
        for b in basis:
            term = b.commitment.maal(lagrange(b.index, idx, x=r.index))
            som = term if som is None else som + term
        if som != r.commitment:
            raise RegisterFout(f"key-share commitment of {r.code} is inconsistent with the others")
