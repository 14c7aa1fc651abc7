"""The one rule for free text: length, control and bidi characters, never cut silently."""

from __future__ import annotations

import pytest

from gedeeld.fouten import ValidationError
from gedeeld.tekst import controleer_tekst, tekstfout


@pytest.mark.parametrize(
    "waarde",
    ["Jan\x00", "\u202eavaJ", "a\u2066b", "x\x1b[31m", "regel\neen", "\ud800", "\ue000", "\U0010fffe"],
)
def test_refused_characters(waarde: str) -> None:
    assert tekstfout(waarde, maximum=50) is not None
    with pytest.raises(ValidationError) as fout:
        controleer_tekst("naam", waarde, maximum=50)
    [v] = fout.value.violations
    assert v.field == "naam"
    assert waarde not in v.description


@pytest.mark.parametrize("waarde", ["Jan-Pieter", "Ülkü Şahin", "d'Hondt", "名前", ""])
def test_accepted_text_is_returned_unchanged(waarde: str) -> None:
    assert controleer_tekst("naam", waarde, maximum=50) == waarde


def test_newlines_only_where_several_lines_are_allowed() -> None:
    assert controleer_tekst("bericht", "regel een\n\tregel twee", maximum=50, meerdere_regels=True)
    with pytest.raises(ValidationError):
        controleer_tekst("bericht", "een\rtwee", maximum=50, meerdere_regels=True)


def test_too_long_is_refused_not_cut() -> None:
    assert controleer_tekst("contact", "x" * 200, maximum=200) == "x" * 200
    with pytest.raises(ValidationError) as fout:
        controleer_tekst("contact", "x" * 201, maximum=200)
    assert "200" in fout.value.violations[0].description
