"""Facts for trend tests: casussen that do everything in one month, and random ones."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.trendradar.tellen import (
    ORIENTATIES,
    THEMAS,
    CasusFeit,
    Feiten,
    MatchFeit,
    Periode,
    SamenwerkingFeit,
)

NOVEMBER = Periode(2026, 11)


def alles_in(periode: Periode, casus_id: str, thema: int = S.THEMA_VERWARD_GEDRAG, dag: int = 3) -> Feiten:
    """One casus that is registered, matched (both confidences), agreed and closed in ``periode``."""
    b = periode.begin
    return Feiten(
        [
            CasusFeit(
                casus_id, thema, S.ORIENTATIE_PERSOONSGERICHT, b + timedelta(days=dag), b + timedelta(days=25)
            )
        ],
        [
            MatchFeit(casus_id, F.ZEKERHEID_ZEKER, b + timedelta(days=dag + 1)),
            MatchFeit(casus_id, F.ZEKERHEID_WAARSCHIJNLIJK, b + timedelta(days=dag + 2)),
            MatchFeit(casus_id, F.ZEKERHEID_ZEKER, b + timedelta(days=dag + 3)),  # a second match: same casus
        ],
        [SamenwerkingFeit(casus_id, b + timedelta(days=dag + 1), b + timedelta(days=dag + 10))],
    )


def samen(*delen: Feiten) -> Feiten:
    return Feiten(
        [c for d in delen for c in d.casussen],
        [m for d in delen for m in d.matches],
        [w for d in delen for w in d.samenwerkingen],
    )


def willekeurig(r: random.Random, aantal: int, begin: datetime, maanden: int) -> Feiten:
    """Random casussen over ``maanden`` months from ``begin``, some matched, agreed or closed."""
    casussen, matches, samenwerkingen = [], [], []
    span = timedelta(days=30 * maanden)
    for i in range(aantal):
        cid = f"casus-{i}"
        aangemeld = begin + r.random() * span
        afgesloten = aangemeld + timedelta(days=r.uniform(5, 120)) if r.random() < 0.4 else None
        casussen.append(CasusFeit(cid, r.choice(THEMAS), r.choice(ORIENTATIES), aangemeld, afgesloten))
        for _ in range(r.choice((0, 0, 1, 2))):
            gevonden = aangemeld + timedelta(days=r.uniform(0, 20))
            matches.append(
                MatchFeit(cid, r.choice((F.ZEKERHEID_ZEKER, F.ZEKERHEID_WAARSCHIJNLIJK)), gevonden)
            )
            if r.random() < 0.5:
                samenwerkingen.append(
                    SamenwerkingFeit(cid, gevonden, gevonden + timedelta(days=r.uniform(0, 120)))
                )
    return Feiten(casussen, matches, samenwerkingen)


BEGIN = datetime(2026, 6, 1, tzinfo=UTC)
