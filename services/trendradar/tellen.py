"""What a region counts for one month, before any noise: pure functions over plain facts.

The grid of cells is fixed (every theme, every orientation, every duration class, whatever the
data), so which cells a release holds says nothing. One casus changes at most ``SENSITIVITEIT``
cells, each by at most 1: for each of the five counted measures its total, its theme's cell and its
orientation's cell (3 × 5), and one duration class.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import trend_pb2 as T

THEMAS: tuple[int, ...] = tuple(v for v in S.Thema.values() if v != S.THEMA_ONBEKEND)
ORIENTATIES: tuple[int, ...] = tuple(v for v in S.Orientatie.values() if v != S.ORIENTATIE_ONBEKEND)
TELMATEN: tuple[int, ...] = (
    T.TREND_MAAT_NIEUW,
    T.TREND_MAAT_AFGESLOTEN,
    T.TREND_MAAT_MATCH_ZEKER,
    T.TREND_MAAT_MATCH_WAARSCHIJNLIJK,
    T.TREND_MAAT_SAMENWERKING,
)
# Days from match to agreed joint handling: [0,7) [7,14) [14,30) [30,60) [60,90) [90,∞).
DUUR_GRENZEN: tuple[int, ...] = (7, 14, 30, 60, 90)
SENSITIVITEIT = 3 * len(TELMATEN) + 1

_PERIODE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Periode:
    """A calendar month in UTC."""

    jaar: int
    maand: int

    @classmethod
    def lees(cls, tekst: str, veld: str = "periode") -> Periode:
        m = _PERIODE.match(tekst)
        if m is None or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
            raise ValidationError(FieldViolation(veld, "moet een maand zijn als 2026-11"))
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def van(cls, moment: datetime) -> Periode:
        m = moment.astimezone(UTC)
        return cls(m.year, m.month)

    def volgende(self) -> Periode:
        return Periode(self.jaar + self.maand // 12, self.maand % 12 + 1)

    def vorige(self) -> Periode:
        return Periode(self.jaar - (self.maand == 1), (self.maand - 2) % 12 + 1)

    @property
    def begin(self) -> datetime:
        return datetime(self.jaar, self.maand, 1, tzinfo=UTC)

    @property
    def eind(self) -> datetime:
        return self.volgende().begin

    def bevat(self, moment: datetime | None) -> bool:
        return moment is not None and self.begin <= moment.astimezone(UTC) < self.eind

    def __str__(self) -> str:
        return f"{self.jaar:04d}-{self.maand:02d}"


@dataclass(frozen=True)
class CasusFeit:
    casus_id: str
    thema: int
    orientatie: int
    aangemeld_op: datetime
    afgesloten_op: datetime | None


@dataclass(frozen=True)
class MatchFeit:
    casus_id: str
    zekerheid: int
    aangemaakt_op: datetime


@dataclass(frozen=True)
class SamenwerkingFeit:
    casus_id: str
    match_op: datetime
    samenwerking_op: datetime


@dataclass(frozen=True)
class Feiten:
    casussen: Sequence[CasusFeit]
    matches: Sequence[MatchFeit]
    samenwerkingen: Sequence[SamenwerkingFeit]


# A cell: (maat, thema, orientatie, duur_klasse); 0 means "all" for thema and orientatie.
Cel = tuple[int, int, int, int]


def raster() -> list[Cel]:
    """Every cell of a release, in a fixed order."""
    cellen: list[Cel] = []
    for maat in TELMATEN:
        cellen.append((maat, 0, 0, 0))
        cellen += [(maat, t, 0, 0) for t in THEMAS]
        cellen += [(maat, 0, o, 0) for o in ORIENTATIES]
    cellen += [(T.TREND_MAAT_DUUR_TOT_SAMENWERKING, 0, 0, k) for k in range(len(DUUR_GRENZEN) + 1)]
    return cellen


def duur_klasse(dagen: float) -> int:
    return sum(1 for g in DUUR_GRENZEN if dagen >= g)


def _tel(uit: dict[Cel, int], maat: int, c: CasusFeit) -> None:
    for cel in ((maat, 0, 0, 0), (maat, c.thema, 0, 0), (maat, 0, c.orientatie, 0)):
        if cel in uit:  # an unknown theme (a newer enum value) counts in the total only
            uit[cel] += 1


def tel(feiten: Feiten, periode: Periode) -> dict[Cel, int]:
    """The true counts of every cell of ``periode``; each casus counts at most once per measure."""
    uit = dict.fromkeys(raster(), 0)
    casussen = {c.casus_id: c for c in feiten.casussen}
    for c in casussen.values():
        if periode.bevat(c.aangemeld_op):
            _tel(uit, T.TREND_MAAT_NIEUW, c)
        if periode.bevat(c.afgesloten_op):
            _tel(uit, T.TREND_MAAT_AFGESLOTEN, c)
    zeker: set[str] = set()
    waarschijnlijk: set[str] = set()
    for m in feiten.matches:
        if periode.bevat(m.aangemaakt_op):
            (zeker if m.zekerheid == F.ZEKERHEID_ZEKER else waarschijnlijk).add(m.casus_id)
    for maat, ids in ((T.TREND_MAAT_MATCH_ZEKER, zeker), (T.TREND_MAAT_MATCH_WAARSCHIJNLIJK, waarschijnlijk)):
        for casus_id in ids:
            if casus_id in casussen:
                _tel(uit, maat, casussen[casus_id])
    eerste: dict[str, SamenwerkingFeit] = {}
    for sw in feiten.samenwerkingen:
        if periode.bevat(sw.samenwerking_op) and sw.casus_id in casussen:
            huidig = eerste.get(sw.casus_id)
            if huidig is None or sw.samenwerking_op < huidig.samenwerking_op:
                eerste[sw.casus_id] = sw
    for casus_id, sw in eerste.items():
        _tel(uit, T.TREND_MAAT_SAMENWERKING, casussen[casus_id])
        dagen = (sw.samenwerking_op - sw.match_op).total_seconds() / 86400
        uit[(T.TREND_MAAT_DUUR_TOT_SAMENWERKING, 0, 0, duur_klasse(max(dagen, 0.0)))] += 1
    return uit


def zonder(feiten: Feiten, casus_id: str) -> Feiten:
    """The neighbouring dataset: the same facts without one casus (and what hangs on it)."""
    return Feiten(
        [c for c in feiten.casussen if c.casus_id != casus_id],
        [m for m in feiten.matches if m.casus_id != casus_id],
        [w for w in feiten.samenwerkingen if w.casus_id != casus_id],
    )
