"""Signed envelopes for everything that crosses the region boundary, and the one opener.

``open_bericht`` checks, in this order and before any parsing of the content:
size, envelope format, known sender, kind, sender = the subject's sender (when the
caller knows it: ``verkeerde_herkomst``, before the signature is verified), signature.
``open_als`` does the same and then parses the content as the message type the caller names;
``ontsleutel_als`` opens and parses an HPKE-sealed inner content (treffer, overleg, query answer).
Each failure is a ``BerichtFout`` (gedeeld/fouten.py) with a fixed ``reden`` (used as a metric
label and in logs): ``onleesbaar`` for anything that does not open or parse. Callers add their
content checks, raising ``BerichtFout`` too, and hand every refusal to
``gedeeld.federatie.poort.weiger``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from google.protobuf.message import DecodeError, Message

from gedeeld.crypto.envelop import Ontsleutelsleutel
from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.fouten import BerichtFout as BerichtFout  # re-exported: where the opener's callers look
from gedeeld.fouten import DecryptionError, InvalidSignatureError
from gedeeld.zvh.v1 import federatie_pb2

VERSIE = 1
DOMEIN = b"zvh-ondertekend-v1"

T = TypeVar("T")
M = TypeVar("M", bound=Message)


def _ondertekend_deel(soort: str, afzender: str, inhoud: bytes) -> bytes:
    return soort.encode() + b"\x00" + afzender.encode() + b"\x00" + inhoud


def onderteken(sleutel: Ondertekensleutel, afzender: str, soort: str, inhoud: bytes) -> bytes:
    return federatie_pb2.Ondertekend(
        versie=VERSIE,
        afzender=afzender,
        soort=soort,
        inhoud=inhoud,
        handtekening=sleutel.onderteken(DOMEIN, _ondertekend_deel(soort, afzender, inhoud)),
    ).SerializeToString()


class _Ondertekenaar(Protocol):
    @property
    def ondertekensleutel(self) -> bytes: ...


class Afzenders(Protocol):
    """Who may sign: a verified registry (``Federatie``), or a DKG round's participants."""

    @property
    def regios(self) -> Mapping[str, _Ondertekenaar]: ...


@dataclass(frozen=True)
class Geopend(Generic[T]):
    """A verified message: its signer (a registry code) and its content (the raw bytes from
    ``open_bericht``, the parsed message from ``open_als``)."""

    afzender: str
    inhoud: T


def open_bericht(
    data: bytes, federatie: Afzenders, soort: str, max_grootte: int, *, afzender: str | None = None
) -> Geopend[bytes]:
    """The verified envelope, its content unparsed (for a relay, or a content read later).
    ``afzender``: the region the message's subject names; the signer must be that region."""
    if len(data) > max_grootte:
        raise BerichtFout("te_groot", f"message of {len(data)} bytes exceeds {max_grootte}")
    try:
        env = federatie_pb2.Ondertekend.FromString(data)
    except DecodeError:
        raise BerichtFout("onleesbaar", "not a signed envelope") from None
    if env.versie != VERSIE:
        raise BerichtFout("onleesbaar", f"envelope version {env.versie} is not supported")
    regio = federatie.regios.get(env.afzender)
    if regio is None:
        raise BerichtFout("onbekende_regio", "sender is not in the federation registry")
    if env.soort != soort:
        raise BerichtFout("onleesbaar", f"expected a {soort!r} message")
    if afzender is not None and env.afzender != afzender:
        raise BerichtFout("verkeerde_herkomst", "signed by another region than the subject names")
    try:
        verifieer(
            regio.ondertekensleutel,
            DOMEIN,
            _ondertekend_deel(env.soort, env.afzender, env.inhoud),
            env.handtekening,
        )
    except InvalidSignatureError:
        raise BerichtFout(
            "ongeldige_handtekening", "signature does not verify against the registry"
        ) from None
    return Geopend(env.afzender, env.inhoud)


def lees_als(inhoud: bytes, berichttype: type[M]) -> M:
    """``inhoud`` parsed as ``berichttype``; ``BerichtFout("onleesbaar")`` when it does not parse."""
    try:
        return berichttype.FromString(inhoud)
    except DecodeError:
        raise BerichtFout("onleesbaar", f"not a {berichttype.DESCRIPTOR.name}") from None


def open_als(
    data: bytes,
    afzenders: Afzenders,
    soort: str,
    berichttype: type[M],
    max_grootte: int,
    *,
    afzender: str | None = None,
) -> Geopend[M]:
    """The verified envelope (``open_bericht``, the same checks in the same order) with its
    content parsed as ``berichttype``. Raises ``BerichtFout`` only."""
    geopend = open_bericht(data, afzenders, soort, max_grootte, afzender=afzender)
    try:
        return Geopend(geopend.afzender, lees_als(geopend.inhoud, berichttype))
    except BerichtFout as fout:
        fout.afzender = geopend.afzender  # signed by a known region: its refusal counts against it
        raise


def ontsleutel_als(sleutel: Ontsleutelsleutel, envelop: bytes, info: bytes, berichttype: type[M]) -> M:
    """An HPKE envelope sealed to us (``gedeeld.crypto.envelop.verzegel``), opened with our key
    and ``info`` and parsed as ``berichttype``; ``BerichtFout("onleesbaar")`` when either fails
    (another key, another ``info``, tampered, truncated, not that message)."""
    try:
        platte_tekst = sleutel.open(envelop, info)
    except DecryptionError:
        raise BerichtFout("onleesbaar", "the sealed content cannot be opened") from None
    return lees_als(platte_tekst, berichttype)
