"""The key ceremony: draw the federation's OPRF key, split it, hand each region its
share encrypted to its HPKE key, publish the commitments, and forget the key.

Rotation: a new ceremony with ``epoch = previous + 1`` and ``vorige_epoch`` set.
Nodes load the new registry beside the old one, re-pseudonymise their active
cases and sign signals with both epochs until the old one expires
(docs/sleutelceremonie.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from gedeeld.crypto.envelop import verzegel
from gedeeld.crypto.groep import Scalar
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.shamir import splits
from gedeeld.federatie.register import MIN_DREMPEL, SLEUTELDEEL_INFO, RegisterFout, lees, teken_register
from gedeeld.zvh.v1 import federatie_pb2


@dataclass(frozen=True)
class Deelnemer:
    """A region as it enters the ceremony: its public keys and contact, no secrets."""

    code: str
    naam: str
    ondertekensleutel: bytes
    hpke_sleutel: bytes
    contact: str = ""
    oin: str = ""

    def inschrijving(
        self, index: int, commitment: bytes, versleuteld_deel: bytes = b""
    ) -> federatie_pb2.RegioInschrijving:
        """Its registry entry as the holder of share ``index`` (a dealer's ceremony also hands it
        the share, encrypted to its HPKE key; after a DKG each holder keeps its own)."""
        return federatie_pb2.RegioInschrijving(
            code=self.code,
            naam=self.naam,
            ondertekensleutel=self.ondertekensleutel,
            hpke_sleutel=self.hpke_sleutel,
            contact=self.contact,
            oin=self.oin,
            sleuteldeel_index=index,
            sleuteldeel_commitment=commitment,
            versleuteld_sleuteldeel=versleuteld_deel,
        )


def ceremonie(
    deelnemers: Sequence[Deelnemer],
    drempel: int,
    beheerder: Ondertekensleutel,
    *,
    epoch: int = 1,
    vorige_epoch: int = 0,
    geldig: timedelta = timedelta(days=730),
    nu: datetime | None = None,
) -> bytes:
    """Returns the signed registry file. The key exists only inside this call."""
    if not deelnemers:
        raise RegisterFout("a federation needs at least one region")
    if drempel < MIN_DREMPEL:
        raise RegisterFout(
            f"threshold {drempel} is below {MIN_DREMPEL}: one region alone could compute tokens"
        )
    moment = nu or datetime.now(UTC)
    sleutel = Scalar.willekeurig()
    delen = splits(sleutel, drempel, len(deelnemers))
    del sleutel  # from here on only the shares exist
    reg = federatie_pb2.Federatieregister(epoch=epoch, drempel=drempel, vorige_epoch=vorige_epoch)
    reg.aangemaakt_op.CopyFrom(_ts(moment))
    reg.geldig_tot.CopyFrom(_ts(moment + geldig))
    for d, deel in zip(deelnemers, delen, strict=True):
        info = SLEUTELDEEL_INFO + b"\x00" + str(epoch).encode() + b"\x00" + d.code.encode()
        reg.regios.append(
            d.inschrijving(deel.index, deel.commitment.data, verzegel(d.hpke_sleutel, deel.waarde.data, info))
        )
    del delen
    data = teken_register(reg, beheerder)
    lees(data, beheerder.publiek, nu=moment)  # what we hand out must verify
    return data


def _ts(moment: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(moment)
    return t
