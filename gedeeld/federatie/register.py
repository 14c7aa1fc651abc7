"""The federation registry: reading, verifying and using it.

A registry file (``federatie.reg``) is an ``OndertekendRegister``: the serialised
``Federatieregister`` and the beheerder's Ed25519 signature over it. A node
trusts one beheerder key (configured); ``laad`` checks the signature against it
and the registry's consistency, including that the key-share commitments lie on
one polynomial of degree t-1 (checked in the exponent, so a single altered
commitment is caught).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.protobuf.message import DecodeError

from gedeeld.crypto.envelop import Ontsleutelsleutel
from gedeeld.crypto.groep import Element, Scalar
from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.crypto.shamir import Sleuteldeel, lagrange
from gedeeld.fouten import ConfigError, CryptoError, DecryptionError
from gedeeld.zvh.v1 import federatie_pb2

REGISTER_DOMEIN = b"zvh-federatieregister-v1"
SLEUTELDEEL_INFO = b"zvh-sleuteldeel-v1"
_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
MIN_DREMPEL = 2  # with t = 1 every share holder alone can compute every token
WAARSCHUWING_VOORAF = timedelta(days=30)  # warn this long before geldig_tot

log = logging.getLogger("zvh.federatie")


def deel_bestand(map_: Path, epoch: int, generatie: int) -> Path:
    """Where a region keeps its own share of a key generated without a dealer (mode 0600)."""
    return map_ / f"sleuteldeel-e{epoch}-g{generatie}.key"


class RegisterFout(ConfigError):
    """The registry is unsigned, signed by someone else, or inconsistent."""

    def __init__(self, message: str) -> None:
        super().__init__("federatie.register", message)


class RegisterVerlopen(RegisterFout):
    """The registry's ``geldig_tot`` has passed: a new epoch (rotation) is overdue."""


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
    generatie: int = 0
    sleutel_commitment: Element | None = None  # k·G, from a DKG
    transcript_sha256: bytes = b""

    def regio(self, code: str) -> Regio:
        r = self.regios.get(code)
        if r is None:
            raise RegisterFout(f"region {code!r} is not in the registry")
        return r

    def sleuteldeel_info(self, code: str) -> bytes:
        return SLEUTELDEEL_INFO + b"\x00" + str(self.epoch).encode() + b"\x00" + code.encode()

    def laad_sleuteldeel(self, code: str, hpke: Ontsleutelsleutel, map_: Path | None = None) -> Sleuteldeel:
        """This region's own share, checked against its commitment: decrypted from the registry
        (dealer ceremony) or, after a DKG, read from ``map_`` (the region's key directory)."""
        r = self.regio(code)
        if not r.versleuteld_deel:
            return self._eigen_deel(r, map_)
        try:
            deel = Sleuteldeel(
                r.index, Scalar.lees(hpke.open(r.versleuteld_deel, self.sleuteldeel_info(code)))
            )
        except (DecryptionError, CryptoError) as exc:
            raise RegisterFout(f"cannot open the key share of {code} with this HPKE key") from exc
        if deel.commitment != r.commitment:
            raise RegisterFout(f"the key share of {code} does not match its commitment")
        return deel

    def _eigen_deel(self, r: Regio, map_: Path | None) -> Sleuteldeel:
        if map_ is None:
            raise RegisterFout(
                f"the share of {r.code} was generated without a dealer; give its key directory"
            )
        pad = deel_bestand(map_, self.epoch, self.generatie)
        try:
            deel = Sleuteldeel(r.index, Scalar.lees(pad.read_bytes()))
        except OSError as exc:
            raise RegisterFout(f"cannot read {pad}: {exc.strerror}") from None
        except CryptoError:
            raise RegisterFout(f"{pad} does not hold a key share") from None
        if deel.commitment != r.commitment:
            raise RegisterFout(f"the key share in {pad} does not match the commitment of {r.code}")
        return deel

    def controleer_geldigheid(self, nu: datetime | None = None) -> None:
        """Refuse an expired registry; warn in the weeks before it expires."""
        moment = nu or datetime.now(UTC)
        if moment >= self.geldig_tot:
            raise RegisterVerlopen(
                f"epoch {self.epoch} expired at {self.geldig_tot:%Y-%m-%d %H:%M} UTC; rotate to a new epoch"
            )
        if moment >= self.geldig_tot - WAARSCHUWING_VOORAF:
            log.warning(
                "federation registry expires soon",
                extra={"epoch": self.epoch, "geldig_tot": self.geldig_tot.isoformat()},
            )


def teken_register(register: federatie_pb2.Federatieregister, beheerder: Ondertekensleutel) -> bytes:
    inhoud = register.SerializeToString(deterministic=True)
    return federatie_pb2.OndertekendRegister(
        register=inhoud,
        beheerder_sleutel=beheerder.publiek,
        handtekening=beheerder.onderteken(REGISTER_DOMEIN, inhoud),
    ).SerializeToString()


def lees(
    data: bytes, vertrouwde_beheerder: bytes | None, *, nu: datetime | None = None, geldigheid: bool = True
) -> Federatie:
    """Parse and verify. ``vertrouwde_beheerder`` None: accept the embedded key (for `verify`).
    An expired registry raises RegisterVerlopen unless ``geldigheid`` is False (to inspect it)."""
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
    federatie = _controleer(reg, env.beheerder_sleutel)
    if geldigheid:
        federatie.controleer_geldigheid(nu)
    return federatie


def laad(
    pad: Path, vertrouwde_beheerder: bytes | None, *, nu: datetime | None = None, geldigheid: bool = True
) -> Federatie:
    try:
        return lees(pad.read_bytes(), vertrouwde_beheerder, nu=nu, geldigheid=geldigheid)
    except OSError as exc:
        raise RegisterFout(f"cannot read {pad}: {exc.strerror}") from None


def _controleer(reg: federatie_pb2.Federatieregister, beheerder: bytes) -> Federatie:
    n = len(reg.regios)
    if reg.epoch < 1:
        raise RegisterFout("epoch must be at least 1")
    if not 1 <= reg.drempel <= n:
        raise RegisterFout(f"threshold {reg.drempel} does not fit {n} regions")
    if reg.drempel < MIN_DREMPEL:
        raise RegisterFout(
            f"threshold {reg.drempel} is below {MIN_DREMPEL}: one region alone could compute tokens"
        )
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
    indices = sorted(r.index for r in regios.values())
    # A DKG leaves gaps where a region was excluded; a dealer ceremony numbers 1..n.
    if len(set(indices)) != n or not all(0 < i < 256 for i in indices):
        raise RegisterFout("share indices must be distinct, between 1 and 255")
    if not reg.sleutel_commitment and indices != list(range(1, n + 1)):
        raise RegisterFout("share indices must be 1..n, each once")
    sleutel_commitment = None
    if reg.sleutel_commitment:
        try:
            sleutel_commitment = Element.lees(reg.sleutel_commitment)
        except CryptoError as exc:
            raise RegisterFout("invalid key commitment") from exc
        if any(r.versleuteld_deel for r in regios.values()):
            raise RegisterFout("a registry from a DKG carries no encrypted shares")
    _controleer_polynoom(list(regios.values()), reg.drempel, sleutel_commitment)
    return Federatie(
        epoch=reg.epoch,
        drempel=reg.drempel,
        regios=regios,
        geldig_tot=reg.geldig_tot.ToDatetime(tzinfo=UTC),
        beheerder_sleutel=beheerder,
        generatie=reg.generatie,
        sleutel_commitment=sleutel_commitment,
        transcript_sha256=reg.transcript_sha256,
    )


def _controleer_polynoom(regios: list[Regio], t: int, sleutel: Element | None = None) -> None:
    """Every commitment beyond the first t follows from those t by interpolation in the exponent,
    and so does k·G (at 0) when the registry states it."""
    basis = sorted(regios, key=lambda r: r.index)[:t]
    idx = [r.index for r in basis]

    def op(x: int) -> Element | None:
        som: Element | None = None
        for b in basis:
            term = b.commitment.maal(lagrange(b.index, idx, x=x))
            som = term if som is None else som + term
        return som

    for r in regios:
        if r.index not in idx and op(r.index) != r.commitment:
            raise RegisterFout(f"key-share commitment of {r.code} is inconsistent with the others")
    if sleutel is not None and op(0) != sleutel:
        raise RegisterFout("the key commitment is inconsistent with the key-share commitments")
