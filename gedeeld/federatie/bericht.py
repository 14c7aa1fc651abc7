"""Signed envelopes for everything that crosses the region boundary.

``open_bericht`` checks, in this order and before any parsing of the content:
size, envelope format, known sender, kind, sender = the subject's sender (when the
caller knows it: ``verkeerde_herkomst``, before the signature is verified), signature. Each failure is a
``BerichtFout`` with a fixed ``reden`` (used as a metric label and in logs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import DecodeError

from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.errors import InvalidSignatureError, ZvhError
from gedeeld.zvh.v1 import federatie_pb2

VERSIE = 1
DOMEIN = b"zvh-ondertekend-v1"


class BerichtFout(ZvhError):
    """A message from another region was refused; ``reden`` is one of a fixed set."""

    def __init__(self, reden: str, message: str) -> None:
        super().__init__(message)
        self.reden = reden


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
class Geopend:
    afzender: str
    inhoud: bytes


def open_bericht(
    data: bytes, federatie: Afzenders, soort: str, max_grootte: int, *, afzender: str | None = None
) -> Geopend:
    """``afzender``: the region the message's subject names; the signer must be that region."""
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
