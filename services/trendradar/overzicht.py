"""The national and per-region picture, assembled from the latest release of every region and month.

Everything here is post-processing of released numbers: it costs no privacy. A national value is the
sum of the regions' noisy values; its 95% margin is a rigorous bound on the sum of their noises
(``privacy.foutmarge``), plus, for every region whose cell was withheld (counted as 0), the
threshold below which it was withheld.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from gedeeld.zvh.v1 import trend_pb2 as T
from services.trendradar.privacy import foutmarge
from services.trendradar.tellen import DUUR_GRENZEN, Periode

Sleutel = tuple[int, int, int, int]


def _sleutel(c: T.TrendCel) -> Sleutel:
    return (c.maat, c.thema, c.orientatie, c.duur_klasse)


def mediaan(klassen: Sequence[float], grenzen: Sequence[int] = DUUR_GRENZEN) -> float | None:
    """Median days, interpolated linearly within the class that holds it (the open last class
    reports its lower bound); None when the classes hold nothing."""
    totaal = sum(max(k, 0.0) for k in klassen)
    if totaal <= 0:
        return None
    cumulatief = 0.0
    for i, k in enumerate(klassen):
        k = max(k, 0.0)
        onder = grenzen[i - 1] if i > 0 else 0
        if cumulatief + k >= totaal / 2 and k > 0:
            if i >= len(grenzen):
                return float(onder)
            return onder + (grenzen[i] - onder) * (totaal / 2 - cumulatief) / k
        cumulatief += k
    return float(grenzen[-1])


def _punt(
    periode: str, regio: str, s: Sleutel, waarde: float, marge: float, onderdrukt: int, n: int
) -> T.TrendPunt:
    maat, thema, orientatie, klasse = s
    return T.TrendPunt(
        periode=periode,
        regio=regio,
        maat=maat,  # type: ignore[arg-type]
        thema=thema,  # type: ignore[arg-type]
        orientatie=orientatie,  # type: ignore[arg-type]
        duur_klasse=klasse,
        waarde=waarde,
        foutmarge=marge,
        onderdrukt=onderdrukt,
        regios=n,
    )


def stel_samen(releases: Sequence[T.TrendRelease], betrouwbaarheid: float = 0.95) -> T.OverzichtResponse:
    """One response from the latest releases (one per region and month)."""
    uit = T.OverzichtResponse(duur_grenzen_dagen=DUUR_GRENZEN)
    per_periode: dict[str, list[T.TrendRelease]] = defaultdict(list)
    for r in sorted(releases, key=lambda r: (r.periode, r.regio)):
        per_periode[r.periode].append(r)
        uit.bronnen.add(
            regio=r.regio, periode=r.periode, release_id=r.release_id, versie=r.versie, epsilon=r.epsilon
        )
    for periode, rs in sorted(per_periode.items()):
        landelijk: dict[Sleutel, list[tuple[T.TrendRelease, T.TrendCel]]] = defaultdict(list)
        regionaal: list[T.TrendPunt] = []
        for r in rs:
            cel_marge = foutmarge([r.schaal], betrouwbaarheid)
            for c in r.cellen:
                landelijk[_sleutel(c)].append((r, c))
                extra = max(r.onderdrukt_onder - 1, 0) if c.onderdrukt else 0
                regionaal.append(
                    _punt(
                        periode,
                        r.regio,
                        _sleutel(c),
                        float(c.waarde),
                        cel_marge + extra,
                        int(c.onderdrukt),
                        1,
                    )
                )
        for s, delen in landelijk.items():
            marge = foutmarge([r.schaal for r, _ in delen], betrouwbaarheid)
            marge += sum(max(r.onderdrukt_onder - 1, 0) for r, c in delen if c.onderdrukt)
            waarde = float(sum(c.waarde for _, c in delen))
            onderdrukt = sum(1 for _, c in delen if c.onderdrukt)
            uit.punten.append(_punt(periode, "", s, waarde, marge, onderdrukt, len(delen)))
        uit.punten.extend(regionaal)
        duur = T.TREND_MAAT_DUUR_TOT_SAMENWERKING
        for regio in ["", *(r.regio for r in rs)]:
            klassen = [0.0] * (len(DUUR_GRENZEN) + 1)
            for p in uit.punten:
                if (
                    p.periode == periode
                    and p.regio == regio
                    and p.maat == duur
                    and p.duur_klasse < len(klassen)
                ):
                    klassen[p.duur_klasse] += p.waarde
            m = mediaan(klassen)
            uit.medianen.add(periode=periode, regio=regio, dagen=m or 0.0, bekend=m is not None)
    return uit


def standaard_bereik(
    van: Periode | None, tot: Periode | None, laatste: Periode | None
) -> tuple[Periode | None, Periode | None]:
    """Empty ``tot``: the latest released month; empty ``van``: twelve months up to ``tot``."""
    tot = tot or laatste
    if van is None and tot is not None:
        van = tot
        for _ in range(11):
            van = van.vorige()
    return van, tot
