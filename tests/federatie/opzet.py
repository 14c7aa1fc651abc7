"""Test federations: regions with fresh keys and a fresh ceremony."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gedeeld import migraties
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.shamir import Sleuteldeel
from gedeeld.db import Database
from gedeeld.federatie import Deelnemer, Federatie, ceremonie, lees
from gedeeld.federatie.sleutels import RegioSleutels
from services.sleuteldeel.store import Boekhouding

CODES = ["wvv", "arnhem", "haaglanden", "ijsselland", "zeeland", "fryslan", "drenthe"]


def deelnemer(code: str, s: RegioSleutels) -> Deelnemer:
    return Deelnemer(
        code,
        f"ZVH {code}",
        s.ondertekening.publiek,
        s.hpke.publiek,
        contact=f"procesregie@{code}.zvh.invalid",
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
    regios = {c: RegioSleutels.nieuw() for c in CODES[:n]}
    beheerder = Ondertekensleutel.nieuw()
    data = ceremonie([deelnemer(c, r) for c, r in regios.items()], t, beheerder, epoch=epoch)
    return ProefFederatie(regios, beheerder, data, lees(data, beheerder.publiek))


async def boekhouding(pad: Path) -> tuple[Boekhouding, Database]:
    """A share holder's counts in its own migrated SQLite database (close the database after)."""
    db = Database(f"sqlite:///{pad}")
    await migraties.upgrade(db, "sleuteldeel")
    return Boekhouding(db), db
