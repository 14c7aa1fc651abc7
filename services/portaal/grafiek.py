"""Trend charts as inline SVG, for the portal (and anything else that shows HTML).

Readable without colour: every series has its own black-and-white fill pattern and is named in a
legend and in each bar's tooltip; values are printed above the bars; the 95% margin of the noise is
an error bar with caps; a withheld cell shows the text "<drempel" instead of a bar. The SVG carries
``role="img"`` with a ``<title>`` and a ``<desc>`` that states what the error bars mean, so a screen
reader announces the chart. No script, no external reference: safe to inline.

The portal calls ``landelijk_svg`` (months × measures, national or one region) and ``regios_svg``
(one month, one measure, per region) with a ``TrendService.Overzicht`` response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from gedeeld.zvh.v1 import trend_pb2 as T

# Black-and-white fills, told apart by shape, not colour.
PATRONEN: tuple[tuple[str, str], ...] = (
    ("vol", '<rect width="8" height="8" fill="#333"/>'),
    (
        "schuin",
        '<rect width="8" height="8" fill="#fff"/>'
        '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="#000" stroke-width="1.5"/>',
    ),
    ("stip", '<rect width="8" height="8" fill="#fff"/><circle cx="4" cy="4" r="1.8" fill="#000"/>'),
    (
        "horizontaal",
        '<rect width="8" height="8" fill="#fff"/>'
        '<path d="M0,2 h8 M0,6 h8" stroke="#000" stroke-width="1.5"/>',
    ),
    (
        "ruit",
        '<rect width="8" height="8" fill="#fff"/>'
        '<path d="M0,0 l8,8 M8,0 l-8,8" stroke="#000" stroke-width="1"/>',
    ),
    ("leeg", '<rect width="8" height="8" fill="#fff"/>'),
)

MAATNAMEN: dict[int, str] = {
    T.TREND_MAAT_NIEUW: "nieuwe casussen",
    T.TREND_MAAT_AFGESLOTEN: "afgesloten casussen",
    T.TREND_MAAT_MATCH_ZEKER: "casussen met zekere match",
    T.TREND_MAAT_MATCH_WAARSCHIJNLIJK: "casussen met waarschijnlijke match",
    T.TREND_MAAT_SAMENWERKING: "samenwerking afgesproken",
}


@dataclass(frozen=True)
class Waarde:
    waarde: float
    marge: float  # half-width of the 95% interval
    onderdrukt: bool = False


@dataclass(frozen=True)
class Reeks:
    naam: str
    waarden: Sequence[Waarde]  # one per group


_BREEDTE, _HOOGTE = 720, 360
_LINKS, _RECHTS, _BOVEN, _ONDER = 56, 16, 40, 96


def _getal(x: float) -> str:
    return f"{x:.0f}"


def svg(
    titel: str, beschrijving: str, groepen: Sequence[str], reeksen: Sequence[Reeks], *, id_: str = "trend"
) -> str:
    """A grouped bar chart with error bars; ``id_`` keeps ids unique when a page holds several."""
    if len(reeksen) > len(PATRONEN):
        raise ValueError(f"at most {len(PATRONEN)} series (one pattern each)")
    for r in reeksen:
        if len(r.waarden) != len(groepen):
            raise ValueError(f"series {r.naam!r} has {len(r.waarden)} values for {len(groepen)} groups")
    hoogste = max((w.waarde + w.marge for r in reeksen for w in r.waarden if not w.onderdrukt), default=0.0)
    schaal_max = _rond_op(max(hoogste, 1.0))
    plot_b = _BREEDTE - _LINKS - _RECHTS
    plot_h = _HOOGTE - _BOVEN - _ONDER
    groep_b = plot_b / max(len(groepen), 1)
    staaf_b = groep_b * 0.8 / max(len(reeksen), 1)

    def y(v: float) -> float:
        return _BOVEN + plot_h - plot_h * max(v, 0.0) / schaal_max

    e = escape
    delen = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_BREEDTE} {_HOOGTE}" '
        f'width="{_BREEDTE}" height="{_HOOGTE}" role="img" '
        f'aria-labelledby="{id_}-titel {id_}-desc" font-family="sans-serif" font-size="11">',
        f'<title id="{id_}-titel">{e(titel)}</title>',
        f'<desc id="{id_}-desc">{e(beschrijving)} Elke staaf toont de gepubliceerde waarde; de '
        "foutbalk het 95%-interval van de ruis die differential privacy toevoegt. "
        '"&lt;drempel" betekent: te klein om te tonen.</desc>',
        "<defs>",
        *(
            f'<pattern id="{id_}-p-{naam}" width="8" height="8" '
            f'patternUnits="userSpaceOnUse">{vorm}</pattern>'
            for naam, vorm in PATRONEN[: len(reeksen)]
        ),
        "</defs>",
        f'<rect x="0" y="0" width="{_BREEDTE}" height="{_HOOGTE}" fill="#fff"/>',
        f'<text x="{_LINKS}" y="20" font-size="14" font-weight="bold">{e(titel)}</text>',
    ]
    # Axis with five gridlines, labelled.
    for i in range(6):
        v = schaal_max * i / 5
        delen.append(
            f'<line x1="{_LINKS}" x2="{_BREEDTE - _RECHTS}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="#bbb" stroke-dasharray="{"none" if i == 0 else "2,3"}"/>'
            f'<text x="{_LINKS - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_getal(v)}</text>'
        )
    for g, groep in enumerate(groepen):
        x0 = _LINKS + g * groep_b + groep_b * 0.1
        delen.append(
            f'<text x="{x0 + groep_b * 0.4:.1f}" y="{_BOVEN + plot_h + 16}" '
            f'text-anchor="middle">{e(groep)}</text>'
        )
        for s, reeks in enumerate(reeksen):
            w = reeks.waarden[g]
            x = x0 + s * staaf_b
            midden = x + staaf_b / 2
            label = f"{groep}, {reeks.naam}: "
            if w.onderdrukt:
                delen.append(
                    f'<g class="onderdrukt"><title>{e(label)}onder de drempel</title>'
                    f'<text x="{midden:.1f}" y="{y(0) - 4:.1f}" text-anchor="middle" font-size="9">'
                    "&lt;drempel</text></g>"
                )
                continue
            label += f"{_getal(w.waarde)} ± {_getal(w.marge)}"
            naam = PATRONEN[s][0]
            onder, boven = y(w.waarde - w.marge), y(w.waarde + w.marge)
            balk = (
                f"M{midden:.1f},{onder:.1f} V{boven:.1f} "
                f"M{midden - 3:.1f},{boven:.1f} h6 M{midden - 3:.1f},{onder:.1f} h6"
            )
            delen.append(
                f'<g class="staaf"><title>{e(label)}</title>'
                f'<rect x="{x:.1f}" y="{y(w.waarde):.1f}" width="{staaf_b * 0.9:.1f}" '
                f'height="{y(0) - y(w.waarde):.1f}" fill="url(#{id_}-p-{naam})" stroke="#000"/>'
                # A white halo under the black line keeps the error bar visible on the dark fill.
                f'<path class="foutbalk-rand" d="{balk}" stroke="#fff" stroke-width="3" fill="none"/>'
                f'<path class="foutbalk" d="{balk}" stroke="#000" stroke-width="1.2" fill="none"/>'
                f"{_waardelabel(midden, y(w.waarde + w.marge) - 4, _getal(w.waarde), staaf_b < 18)}</g>"
            )
    # Legend: pattern swatch and name, so no series depends on colour.
    for s, reeks in enumerate(reeksen):
        kolom, rij = s % 2, s // 2
        lx = _LINKS + kolom * 300
        ly = _HOOGTE - _ONDER + 32 + rij * 19
        delen.append(
            f'<rect x="{lx}" y="{ly - 10}" width="14" height="12" '
            f'fill="url(#{id_}-p-{PATRONEN[s][0]})" stroke="#000"/>'
            f'<text x="{lx + 20}" y="{ly}">{e(reeks.naam)}</text>'
        )
    delen.append("</svg>")
    return "".join(delen)


def _waardelabel(x: float, y: float, tekst: str, smal: bool) -> str:
    # Narrow bars (many series or months) get their value upright, so labels never overlap.
    draai = (
        f' transform="rotate(-90 {x:.1f} {y:.1f})" text-anchor="start"' if smal else ' text-anchor="middle"'
    )
    return f'<text x="{x:.1f}" y="{y:.1f}"{draai} font-size="9">{tekst}</text>'


def _rond_op(x: float) -> float:
    stap = 10 ** max(len(str(int(x))) - 1, 0)
    return float(-(-x // stap) * stap) if x > 10 else 10.0


def _index(resp: T.OverzichtResponse, regio: str) -> dict[tuple[str, int, int, int, int], T.TrendPunt]:
    return {
        (p.periode, int(p.maat), int(p.thema), int(p.orientatie), p.duur_klasse): p
        for p in resp.punten
        if p.regio == regio
    }


def _waarde(p: T.TrendPunt | None, regionaal: bool) -> Waarde:
    if p is None:
        return Waarde(0.0, 0.0, onderdrukt=True)
    # A region's withheld cell has no value; a national total stays a (widened) estimate.
    return Waarde(p.waarde, p.foutmarge, onderdrukt=regionaal and p.onderdrukt > 0)


def landelijk_svg(
    resp: T.OverzichtResponse, maten: Sequence[int] = tuple(MAATNAMEN), regio: str = "", *, id_: str = "trend"
) -> str:
    """Months × measures (totals), national or for one region."""
    index = _index(resp, regio)
    maanden = sorted({k[0] for k in index})
    wie = f"regio {regio}" if regio else "landelijk"
    reeksen = [
        Reeks(MAATNAMEN[m], [_waarde(index.get((maand, m, 0, 0, 0)), bool(regio)) for maand in maanden])
        for m in maten
    ]
    beschrijving = (
        f"Aantallen per maand, {wie}, van {maanden[0]} tot {maanden[-1]}." if maanden else "Geen gegevens."
    )
    return svg(f"Trends {wie}", beschrijving, maanden, reeksen, id_=id_)


def regios_svg(
    resp: T.OverzichtResponse, periode: str, maat: int = T.TREND_MAAT_NIEUW, *, id_: str = "regios"
) -> str:
    """One month, one measure: every region side by side, and the national total in the description."""
    regios = sorted({p.regio for p in resp.punten if p.regio and p.periode == periode})
    punten = {
        p.regio: p
        for p in resp.punten
        if p.periode == periode and (p.maat, p.thema, p.orientatie) == (maat, 0, 0)
    }
    reeks = Reeks(MAATNAMEN[maat], [_waarde(punten.get(r), True) for r in regios])
    landelijk = punten.get("")
    totaal = f" Landelijk: {_getal(landelijk.waarde)} ± {_getal(landelijk.foutmarge)}." if landelijk else ""
    return svg(
        f"{MAATNAMEN[maat].capitalize()} per regio, {periode}",
        f"Per regio, {periode}.{totaal}",
        regios,
        [reeks],
        id_=id_,
    )
