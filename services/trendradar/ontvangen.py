"""Releases from every region (own included) from the TRENDS stream: verified, then kept.

A release is accepted only when its envelope verifies against the federation registry, its sender
is the region in the subject and in the release, and its id names that region and month. Each
(region, month, version) is stored once; a replay of it changes nothing.
"""

from __future__ import annotations

import logging

from nats.aio.msg import Msg
from sqlalchemy import select

from gedeeld.db import Database
from gedeeld.federatie.bericht import open_als
from gedeeld.federatie.poort import label, weiger
from gedeeld.federatie.register import Federatie
from gedeeld.fouten import BerichtFout, ValidationError
from gedeeld.klok import Klok
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import Uitkomst
from gedeeld.zvh.v1 import trend_pb2 as T
from services.trendradar.bericht import SOORT, release_id
from services.trendradar.store import OntvangenRij
from services.trendradar.tellen import Periode, raster

log = logging.getLogger("zvh.trendradar")


class Ontvanger:
    def __init__(self, db: Database, federatie: Federatie, klok: Klok) -> None:
        self.db, self.federatie, self.klok = db, federatie, klok

    def lees(self, onderwerp: str, data: bytes) -> T.TrendRelease:
        """The verified release, or BerichtFout with the reason."""
        afzender = onderwerpen.afzender("trend", onderwerp)
        geopend = open_als(
            data, self.federatie, SOORT, T.TrendRelease, onderwerpen.MAX_BERICHT, afzender=afzender
        )
        release = geopend.inhoud
        try:
            periode = Periode.lees(release.periode)
        except ValidationError:
            raise BerichtFout("onleesbaar", "not a trend release") from None
        if (
            release.regio != geopend.afzender
            or onderwerp != onderwerpen.trend(geopend.afzender)
            or release.release_id != release_id(release.regio, periode)
            or release.versie < 1
            or len(release.cellen) > 4 * len(raster())
        ):
            raise BerichtFout("onleesbaar", "trend release does not match its sender, subject or id")
        return release

    async def bij_bericht(self, msg: Msg) -> Uitkomst:
        try:
            release = self.lees(msg.subject, msg.data)
        except BerichtFout as exc:
            herkomst = label(self.federatie, onderwerpen.afzender("trend", msg.subject))
            return weiger("trend", exc.reden, afzender=herkomst, subject=msg.subject)
        await self.bewaar(release)
        return Uitkomst.KLAAR

    async def bewaar(self, release: T.TrendRelease) -> bool:
        async with self.db.transaction() as s:
            sleutel = (release.regio, release.periode, release.versie)
            if await s.get(OntvangenRij, sleutel) is not None:
                return False
            s.add(
                OntvangenRij(
                    regio=release.regio,
                    periode=release.periode,
                    versie=release.versie,
                    release=release.SerializeToString(),
                    ontvangen_op=self.klok.nu(),
                )
            )
        return True

    async def laatste(self, van: Periode | None = None, tot: Periode | None = None) -> list[T.TrendRelease]:
        """The highest version of every region's month in [van, tot]."""
        async with self.db.lezen() as s:
            q = select(OntvangenRij.regio, OntvangenRij.periode, OntvangenRij.versie, OntvangenRij.release)
            if van is not None:
                q = q.where(OntvangenRij.periode >= str(van))
            if tot is not None:
                q = q.where(OntvangenRij.periode <= str(tot))
            beste: dict[tuple[str, str], tuple[int, bytes]] = {}
            for regio, periode, versie, data in await s.execute(q):
                if (regio, periode) not in beste or versie > beste[(regio, periode)][0]:
                    beste[(regio, periode)] = (versie, data)
        return [T.TrendRelease.FromString(data) for _, (_, data) in sorted(beste.items())]
