"""The national picture from releases, and its charts as accessible inline SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import trend_pb2 as T
from services.portaal.grafiek import MAATNAMEN, Reeks, Waarde, landelijk_svg, regios_svg, svg
from services.trendradar.overzicht import mediaan, stel_samen
from services.trendradar.privacy import foutmarge
from services.trendradar.tellen import DUUR_GRENZEN, raster

NS = "{http://www.w3.org/2000/svg}"
# Greys only: a chart must not need colour to be read.
ZONDER_KLEUR = {"#000", "#fff", "#333", "#bbb", "none"}


def release(
    regio: str, periode: str, basis: int, onderdrukt: set[tuple[int, int, int, int]] = frozenset()
) -> T.TrendRelease:  # type: ignore[assignment]
    r = T.TrendRelease(
        release_id=f"{regio}/{periode}",
        versie=1,
        regio=regio,
        periode=periode,
        epsilon=1.0,
        schaal=16.0,
        sensitiviteit=16,
        onderdrukt_onder=10,
        duur_grenzen_dagen=DUUR_GRENZEN,
        foutmarge_95=48,
    )
    for cel in raster():
        maat, thema, orientatie, klasse = cel
        weg = cel in onderdrukt
        r.cellen.add(
            maat=maat,
            thema=thema,
            orientatie=orientatie,
            duur_klasse=klasse,  # type: ignore[arg-type]
            waarde=0 if weg else basis + maat + klasse,
            onderdrukt=weg,
        )
    return r


NIEUW = (T.TREND_MAAT_NIEUW, 0, 0, 0)


@pytest.fixture
def overzicht() -> T.OverzichtResponse:
    releases = [
        release(regio, periode, basis, {NIEUW} if (regio, periode) == ("arnhem", "2026-09") else set())
        for regio, basis in (("wvv", 30), ("arnhem", 50))
        for periode in ("2026-08", "2026-09", "2026-10")
    ]
    return stel_samen(releases)


def test_national_values_are_sums_with_the_margin_of_the_summed_noise(overzicht: T.OverzichtResponse) -> None:
    punten = {(p.periode, p.regio, p.maat, p.thema, p.orientatie, p.duur_klasse): p for p in overzicht.punten}
    okt = punten[("2026-10", "", *NIEUW)]
    assert (okt.waarde, okt.regios, okt.onderdrukt) == (31 + 51, 2, 0)
    assert okt.foutmarge == foutmarge([16.0, 16.0])
    sep = punten[("2026-09", "", *NIEUW)]
    # arnhem withheld its cell: counted as 0, the margin grows by the threshold it lay under.
    assert (sep.waarde, sep.onderdrukt) == (31, 1)
    assert sep.foutmarge == foutmarge([16.0, 16.0]) + 9
    assert punten[("2026-09", "arnhem", *NIEUW)].onderdrukt == 1
    assert punten[("2026-09", "wvv", *NIEUW)].foutmarge == 48
    assert {(b.regio, b.periode) for b in overzicht.bronnen} == {
        (r, p) for r in ("wvv", "arnhem") for p in ("2026-08", "2026-09", "2026-10")
    }
    assert all(m.bekend for m in overzicht.medianen)


@pytest.mark.parametrize(
    ("klassen", "verwacht"),
    [
        ([10, 0, 0, 0, 0, 0], 3.5),  # all in [0, 7): the middle of the class
        ([0, 0, 4, 4, 0, 0], 30.0),  # half in [14, 30), half in [30, 60)
        ([0, 0, 0, 0, 0, 5], 90.0),  # the open class reports its lower bound
        ([-3, 0, 0, 0, 0, 0], None),  # nothing (noise below zero counts as nothing)
    ],
)
def test_median_from_duration_classes(klassen: list[float], verwacht: float | None) -> None:
    assert mediaan(klassen) == verwacht


def _wortel(tekst: str) -> ET.Element:
    wortel = ET.fromstring(tekst)  # noqa: S314 (our own output)
    assert wortel.tag == f"{NS}svg"
    assert wortel.get("role") == "img"
    ids = (wortel.get("aria-labelledby") or "").split()
    elementen = {e.get("id"): e for e in wortel.iter() if e.get("id")}
    assert [elementen[i].tag for i in ids] == [f"{NS}title", f"{NS}desc"]
    assert all((elementen[i].text or "").strip() for i in ids)
    for e in wortel.iter():
        for attr in ("fill", "stroke"):
            waarde = e.get(attr)
            assert waarde is None or waarde in ZONDER_KLEUR or waarde.startswith("url(#"), (e.tag, waarde)
    assert not list(wortel.iter(f"{NS}script"))
    return wortel


def teksten(wortel: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in wortel.iter(f"{NS}text")]


def test_national_chart_is_valid_svg_readable_without_colour(overzicht: T.OverzichtResponse) -> None:
    wortel = _wortel(landelijk_svg(overzicht))
    desc = wortel.find(f"{NS}desc")
    assert desc is not None and "95%" in (desc.text or "")
    labels = teksten(wortel)
    for maand in ("2026-08", "2026-09", "2026-10"):
        assert maand in labels
    for naam in MAATNAMEN.values():
        assert naam in labels  # the legend names every series
    staven = [g for g in wortel.iter(f"{NS}g") if g.get("class") == "staaf"]
    assert len(staven) == 3 * len(MAATNAMEN)  # national totals are never withheld
    foutbalken = [p for p in wortel.iter(f"{NS}path") if p.get("class") == "foutbalk"]
    assert len(foutbalken) == len(staven)
    # Each series has its own pattern, and a bar's tooltip says what it is with its margin.
    vullingen = {g.find(f"{NS}rect").get("fill") for g in staven}  # type: ignore[union-attr]
    assert len(vullingen) == len(MAATNAMEN)
    assert "2026-10, nieuwe casussen: 82 ± " in "".join(g.findtext(f"{NS}title") or "" for g in staven)
    assert "82" in labels


def test_region_chart_shows_a_withheld_cell_as_text_not_as_a_bar(overzicht: T.OverzichtResponse) -> None:
    wortel = _wortel(regios_svg(overzicht, "2026-09", T.TREND_MAAT_NIEUW))
    labels = teksten(wortel)
    assert "<drempel" in labels and "wvv" in labels and "arnhem" in labels
    assert len([g for g in wortel.iter(f"{NS}g") if g.get("class") == "staaf"]) == 1
    assert "Landelijk: 31" in (wortel.findtext(f"{NS}desc") or "")
    # Two charts on one page keep their ids apart.
    a, b = landelijk_svg(overzicht, id_="a"), landelijk_svg(overzicht, regio="wvv", id_="b")
    assert not {e.get("id") for e in _wortel(a).iter()} - {None} & {e.get("id") for e in _wortel(b).iter()}


def test_text_is_escaped_and_bad_input_refused() -> None:
    wortel = _wortel(svg('<script>"x" & y', "desc <b>", ["a&b"], [Reeks("r<1>", [Waarde(5, 2)])]))
    assert wortel.findtext(f"{NS}title") == '<script>"x" & y'
    assert "a&b" in teksten(wortel) and "r<1>" in teksten(wortel)
    with pytest.raises(ValueError, match="values for"):
        svg("t", "d", ["a", "b"], [Reeks("r", [Waarde(1, 1)])])
    _ = S  # the casus enums name the cells' themes
