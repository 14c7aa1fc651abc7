"""Releasing a month: count, spend budget, add noise, record in the ledger, sign, publish.

Order matters. The ledger row (with the signed release in it) commits *before* anything is
published, so no number ever leaves the node without its epsilon being recorded; if publishing then
fails, running the command again replays the recorded release byte for byte. A month already
released is replayed, spending nothing; only ``vervang=True`` draws a new version (new noise on the
current data), which spends the release's epsilon again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gedeeld.config import TrendsConfig
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.db import Database
from gedeeld.federatie.bericht import onderteken
from gedeeld.fouten import ConflictError, PreconditionError
from gedeeld.nats import onderwerpen
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import trend_pb2 as T
from services.trendradar import bronnen
from services.trendradar.bericht import SOORT, release_id
from services.trendradar.privacy import Mechanisme, foutmarge_cel, onderdruk
from services.trendradar.store import GrootboekRij
from services.trendradar.tellen import DUUR_GRENZEN, SENSITIVITEIT, Feiten, Periode, raster, tel

log = logging.getLogger("zvh.trendradar")

# A hair of slack for the float sum of the epsilons in the ledger (12 × 1.0 must fit in 12.0).
_SPELING = 1e-9


class BudgetOp(PreconditionError):
    """The region's privacy budget for the year cannot pay for another release."""

    def __init__(self, jaar: int, besteed: float, budget: float, kosten: float) -> None:
        super().__init__(
            f"privacy budget for {jaar} exhausted: {besteed:g} of {budget:g} epsilon spent, a release "
            f"costs {kosten:g}; nothing was released. Months already released can still be "
            f"re-published (that spends nothing); releases about {jaar + 1} use next year's budget"
        )
        self.jaar, self.besteed, self.budget, self.kosten = jaar, besteed, budget, kosten


@dataclass(frozen=True)
class Publicatie:
    release: T.TrendRelease
    ondertekend: bytes
    herhaald: bool  # a replay from the ledger: no budget spent


async def besteed(db: Database, regio: str, jaar: int) -> float:
    async with db.lezen() as s:
        som = await s.execute(
            select(func.coalesce(func.sum(GrootboekRij.epsilon), 0.0)).where(
                GrootboekRij.regio == regio, GrootboekRij.jaar == jaar
            )
        )
        return float(som.scalar_one())


async def grootboek(db: Database, regio: str) -> list[GrootboekRij]:
    async with db.lezen() as s:
        q = select(GrootboekRij).where(GrootboekRij.regio == regio).order_by(GrootboekRij.id)
        return list((await s.execute(q)).scalars())


class Publiceerder:
    def __init__(self, db: Database, regio: str, sleutel: Ondertekensleutel, cfg: TrendsConfig) -> None:
        self.db, self.regio, self.sleutel, self.cfg = db, regio, sleutel, cfg

    async def maak(self, periode: Periode, nu: datetime, *, vervang: bool = False) -> Publicatie:
        """The release for ``periode``: the recorded one, or (first time, or ``vervang``) a new one."""
        if periode >= Periode.van(nu):
            raise PreconditionError(
                f"period {periode} is not over yet; a month is released once it has ended"
            )
        try:
            return await self._maak(periode, nu, vervang)
        except IntegrityError:
            # Another release of this region committed in between (same version or same budget slot).
            raise ConflictError(
                "another trend release of this region was recorded at the same moment; run it again"
            ) from None

    async def _maak(self, periode: Periode, nu: datetime, vervang: bool) -> Publicatie:
        async with self.db.transaction() as s:
            vorige = (
                await s.execute(
                    select(GrootboekRij)
                    .where(GrootboekRij.regio == self.regio, GrootboekRij.periode == str(periode))
                    .order_by(GrootboekRij.versie.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if vorige is not None and not vervang:
                release = T.TrendRelease.FromString(F.Ondertekend.FromString(vorige.ondertekend).inhoud)
                return Publicatie(release, vorige.ondertekend, herhaald=True)
            jaar_rijen = list(
                (
                    await s.execute(
                        select(GrootboekRij.epsilon).where(
                            GrootboekRij.regio == self.regio, GrootboekRij.jaar == periode.jaar
                        )
                    )
                ).scalars()
            )
            uitgegeven = sum(jaar_rijen)
            mechanisme = Mechanisme(self.cfg.epsilon_per_publicatie, SENSITIVITEIT)
            if uitgegeven + mechanisme.epsilon > self.cfg.epsilon_per_jaar + _SPELING:
                raise BudgetOp(periode.jaar, uitgegeven, self.cfg.epsilon_per_jaar, mechanisme.epsilon)
            release = self._release(periode, nu, mechanisme, await bronnen.feiten(s, periode))
            release.versie = (vorige.versie + 1) if vorige is not None else 1
            release.epsilon_jaar_besteed = uitgegeven + mechanisme.epsilon
            ondertekend = onderteken(self.sleutel, self.regio, SOORT, release.SerializeToString())
            s.add(
                GrootboekRij(
                    regio=self.regio,
                    jaar=periode.jaar,
                    jaar_volgnummer=len(jaar_rijen) + 1,
                    periode=str(periode),
                    release_id=release.release_id,
                    versie=release.versie,
                    epsilon=mechanisme.epsilon,
                    ondertekend=ondertekend,
                    aangemaakt_op=nu,
                )
            )
        log.info(
            "trend release recorded",
            extra={"periode": str(periode), "versie": release.versie, "epsilon": mechanisme.epsilon},
        )
        return Publicatie(release, ondertekend, herhaald=False)

    def _release(
        self, periode: Periode, nu: datetime, mechanisme: Mechanisme, feiten: Feiten
    ) -> T.TrendRelease:
        cellen = raster()
        waar = tel(feiten, periode)
        beschermd = bescherm(mechanisme, [waar[c] for c in cellen], self.cfg.onderdrukken_onder)
        release = T.TrendRelease(
            release_id=release_id(self.regio, periode),
            regio=self.regio,
            periode=str(periode),
            epsilon=mechanisme.epsilon,
            schaal=mechanisme.schaal,
            sensitiviteit=mechanisme.sensitiviteit,
            onderdrukt_onder=self.cfg.onderdrukken_onder,
            duur_grenzen_dagen=DUUR_GRENZEN,
            foutmarge_95=foutmarge_cel(mechanisme.schaal),
            epsilon_jaarbudget=self.cfg.epsilon_per_jaar,
        )
        release.gepubliceerd_op.FromDatetime(nu)
        for (maat, thema, orientatie, klasse), (waarde, onderdrukt) in zip(cellen, beschermd, strict=True):
            release.cellen.add(
                maat=maat,
                thema=thema,
                orientatie=orientatie,
                duur_klasse=klasse,
                waarde=waarde,
                onderdrukt=onderdrukt,
            )
        return release


def bescherm(mechanisme: Mechanisme, waarden: Sequence[int], drempel: int) -> list[tuple[int, bool]]:
    """What leaves the node for each true count: noise (OpenDP), then withholding below ``drempel``.

    Any length: cells are independent, so the tests draw many releases in one call."""
    return [onderdruk(r, drempel) for r in mechanisme.meet(waarden)]


async def publiceer(js: JetStreamContext, publicatie: Publicatie) -> bool:
    """Publish (or re-publish) a recorded release; False when JetStream already had it."""
    r = publicatie.release
    ack = await js.publish(
        onderwerpen.trend(r.regio),
        publicatie.ondertekend,
        headers={"Nats-Msg-Id": f"{r.release_id}/v{r.versie}"},
    )
    return not ack.duplicate
