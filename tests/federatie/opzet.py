"""Test federations: regions with fresh keys and a fresh ceremony."""

from __future__ import annotations

from dataclasses import dataclass, field

from gedeeld.crypto.envelop import Ontsleutelsleutel
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.shamir import Sleuteldeel
from gedeeld.federatie import Deelnemer, Federatie, ceremonie, lees

CODES = ["wvv", "arnhem", "haaglanden", "ijsselland", "zeeland", "fryslan", "drenthe"]


@dataclass
class RegioSleutels:
    code: str
    ondertekening: Ondertekensleutel = field(default_factory=Ondertekensleutel.nieuw)
    hpke: Ontsleutelsleutel = field(default_factory=Ontsleutelsleutel.nieuw)

    def deelnemer(self) -> Deelnemer:
        return Deelnemer(
            self.code,
            f"ZVH {self.code}",
            self.ondertekening.publiek,
            self.hpke.publiek,
            contact=f"procesregie@{self.code}.zvh.invalid",
        )


@dataclass
class ProefFederatie:
    regios: dict[str, RegioSleutels]
    beheerder: Ondertekensleutel
    data: bytes
    federatie: Federatie

    def deel(self, code: str) -> Sleuteldeel:
        return self.federatie.laad_sleuteldeel(code, self.regios[code].hpke)


def maak_federatie(n: int, t: int, epoch: int = 1) -> ProefFederatie:
    regios = {c: RegioSleutels(c) for c in CODES[:n]}
    beheerder = Ondertekensleutel.nieuw()
    data = ceremonie([r.deelnemer() for r in regios.values()], t, beheerder, epoch=epoch)
    return ProefFederatie(regios, beheerder, data, lees(data, beheerder.publiek))
