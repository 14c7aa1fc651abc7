"""One region acting against the others with only its own, legitimate material: its signing and
HPKE keys, the federation registry (public keys), its NATS connection, and what every region
reads (the SIGNALEN stream). It publishes only under its own code, as the hub enforces."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from gedeeld.crypto.envelop import verzegel
from gedeeld.federatie import laad
from gedeeld.federatie.bericht import onderteken
from gedeeld.federatie.register import Federatie
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats import onderwerpen
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.inkomend import TREFFER_INFO
from tests import voorbeelden


@dataclass
class Aanvaller:
    code: str
    sleutels: RegioSleutels
    federatie: Federatie
    nc: Client
    js: JetStreamContext  # where the federation streams are (the hub's domain in production)

    @classmethod
    def uit_map(
        cls, code: str, sleutels: Path, register: Path, beheerder: bytes, nc: Client, js: JetStreamContext
    ) -> Aanvaller:
        return cls(code, RegioSleutels.lees(sleutels), laad(register, beheerder), nc, js)

    # -- what every region can read -----------------------------------------------------------

    async def signalen_van(self, regio: str) -> list[tuple[bytes, F.Signaal]]:
        """Every signal ``regio`` published that SIGNALEN still holds, oldest first."""
        info = await self.js.stream_info(onderwerpen.SIGNALEN)
        uit = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                raw = await self.js.get_msg(onderwerpen.SIGNALEN, seq)
            except NotFoundError:  # deleted or pushed out
                continue
            if raw.subject != onderwerpen.signaal(regio) or raw.data is None:
                continue
            env = F.Ondertekend.FromString(raw.data)
            uit.append((raw.data, F.Signaal.FromString(env.inhoud)))
        return uit

    # -- what it sends ------------------------------------------------------------------------

    async def signaal(self, data: bytes) -> None:
        """``data`` on its own signal subject (the only one the hub lets it publish on)."""
        await self.js.publish(
            onderwerpen.signaal(self.code), data, headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )

    def rommel(self, epoch: int) -> bytes:
        """A validly signed signal of random tokens: costs the receivers a lookup, hits nothing."""
        tokens = [F.SignaalToken(sleutel_type="bsn", token=os.urandom(64))]
        inhoud = voorbeelden.signaal(
            tokens, uuid.uuid4().hex, regio=self.code, epoch=epoch, tijdstip=datetime.now(UTC)
        )
        return onderteken(self.sleutels.ondertekening, self.code, "signaal", inhoud)

    def treffer(
        self,
        ontvanger: str,
        referentie_ontvanger: str,
        *,
        referentie: str | None = None,
        contact: str = "",
        sleutel_types: tuple[str, ...] = ("bsn",),
    ) -> bytes:
        """A signed treffer claiming that ``referentie_ontvanger`` (from ``ontvanger``'s signal)
        matched a person of ours."""
        inhoud = F.TrefferInhoud(
            signaal_id=str(uuid.uuid4()),
            referentie_ontvanger=referentie_ontvanger,
            regio=self.code,
            referentie=referentie or uuid.uuid4().hex,
            sleutel_types=list(sleutel_types),
            zekerheid=F.ZEKERHEID_ZEKER,
            contact=contact or f"procesregie@{self.code}.zvh.invalid",
            epoch=self.federatie.epoch,
        )
        envelop = verzegel(
            self.federatie.regio(ontvanger).hpke_sleutel,
            inhoud.SerializeToString(),
            TREFFER_INFO + b"\x00" + ontvanger.encode(),
        )
        return onderteken(
            self.sleutels.ondertekening,
            self.code,
            "treffer",
            F.Treffer(ontvanger=ontvanger, envelop=envelop).SerializeToString(),
        )

    async def stuur_treffer(self, ontvanger: str, data: bytes) -> None:
        await self.js.publish(
            onderwerpen.treffer(ontvanger, self.code), data, headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
