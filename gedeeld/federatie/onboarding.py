"""Onboarding windows: the beheerder allows one region extra OPRF evaluations for a period.

A region that joins the federation (or re-pseudonymises its active cases for a new epoch) needs
more evaluations than the share holders' daily cap allows. The beheerder signs an
``OnboardingVenster`` (region, extra evaluations, period van/tot) with the key that signs the
registry (``zvhctl federatie onboarding``); the region's node attaches it to its OPRF requests
(``federatie.onboarding``) while the window is open, and each holder checks the signature against
the registry's beheerder key, the region and the period before it allows the extra evaluations.
Holders also bound what one window may give (``federatie.oprf_onboarding_max`` and
``oprf_onboarding_max_dagen``): the beheerder is no more trusted than a region.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.fouten import InvalidSignatureError, ZvhError
from gedeeld.zvh.v1 import federatie_pb2 as F

ONBOARDING_DOMEIN = b"zvh-onboarding-v1"
MAX_GROOTTE = 4096


class OnboardingFout(ZvhError):
    """The onboarding document is unreadable, not signed by the trusted beheerder, or malformed."""


@dataclass(frozen=True)
class Onboarding:
    """A verified onboarding window."""

    regio: str
    extra: int
    van: datetime
    tot: datetime
    reden: str
    vingerafdruk: str  # SHA-256 (hex) of the signed document: the key its budget is kept under

    def open_op(self, moment: datetime) -> bool:
        return self.van <= moment < self.tot


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment.astimezone(UTC))
    return ts


def teken_onboarding(
    beheerder: Ondertekensleutel, regio: str, extra: int, van: datetime, tot: datetime, reden: str = ""
) -> bytes:
    if extra < 1:
        raise ValueError("extra evaluations must be at least 1")
    if tot <= van:
        raise ValueError("the window must end after it starts")
    venster = F.OnboardingVenster(
        regio=regio, extra_evaluaties=extra, van=_ts(van), tot=_ts(tot), reden=reden
    ).SerializeToString()
    return F.OndertekendOnboarding(
        venster=venster,
        beheerder_sleutel=beheerder.publiek,
        handtekening=beheerder.onderteken(ONBOARDING_DOMEIN, venster),
    ).SerializeToString()


def lees_onboarding(data: bytes, beheerder_sleutel: bytes) -> Onboarding:
    """Parse and verify against the trusted beheerder key (the registry's); raises OnboardingFout."""
    if len(data) > MAX_GROOTTE:
        raise OnboardingFout(f"onboarding document of {len(data)} bytes exceeds {MAX_GROOTTE}")
    try:
        env = F.OndertekendOnboarding.FromString(data)
        venster = F.OnboardingVenster.FromString(env.venster)
    except DecodeError:
        raise OnboardingFout("not an onboarding document") from None
    if env.beheerder_sleutel != beheerder_sleutel:
        raise OnboardingFout("onboarding document is signed by another key than the registry's beheerder")
    try:
        verifieer(beheerder_sleutel, ONBOARDING_DOMEIN, env.venster, env.handtekening)
    except InvalidSignatureError:
        raise OnboardingFout("onboarding document signature does not verify") from None
    van = venster.van.ToDatetime(tzinfo=UTC)
    tot = venster.tot.ToDatetime(tzinfo=UTC)
    if not venster.regio or venster.extra_evaluaties < 1 or tot <= van:
        raise OnboardingFout("onboarding document has no region, no extra evaluations or an empty period")
    return Onboarding(
        regio=venster.regio,
        extra=int(venster.extra_evaluaties),
        van=van,
        tot=tot,
        reden=venster.reden,
        vingerafdruk=hashlib.sha256(data).hexdigest(),
    )
