"""Test helpers for DKG rounds: regions with key directories, a beheerder, one nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.shamir import Sleuteldeel
from gedeeld.federatie import Deelnemer, Federatie
from gedeeld.federatie.dkg import lees_start
from gedeeld.federatie.dkg_ronde import Regiodeel, Resultaat, leid
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.federatie.snelheidslimiet import Limiet
from gedeeld.nats.verbinding import verbind
from services.sleuteldeel.server import SleuteldeelServer
from services.sleuteldeel.service import Bescherming, Sleuteldeelhouder
from tests.federatie.opzet import CODES, boekhouding, deelnemer

_db = itertools.count()


@dataclass
class DkgOpzet:
    """Regions (keys in ``map_/<code>``) and a beheerder; ``ronde`` runs one round over NATS."""

    url: str
    map_: Path
    beheerder: Ondertekensleutel = field(default_factory=Ondertekensleutel.nieuw)
    regios: dict[str, RegioSleutels] = field(default_factory=dict)

    def regio(self, code: str) -> Deelnemer:
        if code not in self.regios:
            self.regios[code] = RegioSleutels.nieuw()
            self.regios[code].schrijf(self.map_ / code)
        return deelnemer(code, self.regios[code])

    def deelnemers(self, codes: Sequence[str]) -> list[Deelnemer]:
        return [self.regio(c) for c in codes]

    def deel(self, federatie: Federatie, code: str) -> Sleuteldeel:
        return federatie.laad_sleuteldeel(code, self.regios[code].hpke, self.map_ / code)

    @contextlib.asynccontextmanager
    async def houders(
        self, federatie: Federatie, delen: Mapping[str, Sleuteldeel] | None = None
    ) -> AsyncIterator[None]:
        """Every holder of ``federatie`` serving its share (or the one in ``delen``) with the
        production holder code, without limits, each over its own database."""
        verbindingen, servers, databases = [], [], []
        try:
            for code in delen or federatie.regios:
                nc = await verbind(self.url, f"sleuteldeel-{code}")
                verbindingen.append(nc)
                boek, db = await boekhouding(self.map_ / f"houder-{code}-{next(_db)}.db")
                databases.append(db)
                houder = Sleuteldeelhouder(
                    code,
                    federatie,
                    (delen or {}).get(code) or self.deel(federatie, code),
                    self.regios[code].ondertekening,
                    Limiet(1000, 1000),
                    boekhouding=boek,
                    bescherming=Bescherming(dagplafond=0, verhouding=0),
                )
                servers.append(SleuteldeelServer(nc, houder))
                await servers[-1].start()
            yield
        finally:
            for server in servers:
                await server.stop()
            for nc in verbindingen:
                await nc.close()
            for db in databases:
                await db.close()

    async def ronde(
        self,
        start: bytes,
        codes: Sequence[str],
        klassen: Mapping[str, type[Regiodeel]] | None = None,
    ) -> tuple[Resultaat | BaseException, dict[str, Federatie | BaseException]]:
        """Run the beheerder and every region in ``codes`` concurrently; each one's outcome."""
        ronde = lees_start(start, self.beheerder.publiek)
        inschrijvingen = {d.code: d for d in self.deelnemers(sorted(set(codes) | set(ronde.ontvangers)))}
        verbindingen = [await verbind(self.url, f"dkg-{c}") for c in ["beheerder", *codes]]
        try:
            luistert = asyncio.Event()
            leiding = asyncio.create_task(
                leid(verbindingen[0], start, self.beheerder, inschrijvingen, luistert=luistert)
            )
            await asyncio.wait_for(luistert.wait(), 10)
            delen = [
                (klassen or {}).get(c, Regiodeel)(
                    nc,
                    c,
                    self.regios[c],
                    self.beheerder.publiek,
                    ronde.ronde_id,
                    self.map_ / c,
                    per_verzoek=20,
                )
                for c, nc in zip(codes, verbindingen[1:], strict=True)
            ]
            uitkomsten = await asyncio.wait_for(
                asyncio.gather(leiding, *(d.doe_mee() for d in delen), return_exceptions=True), 120
            )
        finally:
            for nc in verbindingen:
                await nc.close()
        leider, *regios = uitkomsten
        return cast(Resultaat | BaseException, leider), {
            c: cast(Federatie | BaseException, r) for c, r in zip(codes, regios, strict=True)
        }


VIJF = CODES[:5]
