"""Pure parts of the portal: the shared match reference, the vendored files, the user file."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gedeeld.federatie.matchreferentie import gedeelde_referentie
from gedeeld.grpc.authenticatie import Rol
from services.portaal import gebruikers as G
from services.portaal.beveiliging import Sessies

ROOT = Path(__file__).resolve().parents[2]
_REGIO = st.from_regex(r"[a-z][a-z0-9-]{1,10}", fullmatch=True)
_REF = st.text("0123456789abcdef", min_size=32, max_size=32)


@given(_REGIO, _REF, _REGIO, _REF)
def test_shared_reference_is_the_same_from_both_sides(a: str, ra: str, b: str, rb: str) -> None:
    code = gedeelde_referentie(a, ra, b, rb)
    assert code == gedeelde_referentie(b, rb, a, ra)
    assert re.fullmatch(r"ZVH-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code)


def test_shared_reference_differs_per_pair() -> None:
    codes = {gedeelde_referentie("wvv", f"{i:032x}", "arnhem", "f" * 32) for i in range(2000)}
    assert len(codes) == 2000


@pytest.mark.parametrize(
    "vendored",
    [ROOT / "services/portaal/static/vendor/VENDORED.md", ROOT / "tests/portaal/vendor/VENDORED.md"],
)
def test_vendored_files_match_their_recorded_sha256(vendored: Path) -> None:
    rijen = re.findall(r"^\| `([^`]+)`.*\| `([0-9a-f]{64})` \|$", vendored.read_text(), re.MULTILINE)
    assert rijen, "no files listed"
    for naam, sha in rijen:
        assert hashlib.sha256((vendored.parent / naam).read_bytes()).hexdigest() == sha, naam


def test_user_file_round_trip_and_login_checks(tmp_path: Path) -> None:
    pad = tmp_path / "gebruikers.toml"
    totp = pyotp.random_base32()
    g = G.Gebruiker(
        'pr-"x"', "Ánna \\ de Vries", Rol.PROCESREGISSEUR, "a@b.invalid", G.hash_wachtwoord("geheim"), totp
    )
    G.schrijf(pad, {g.id: g})
    assert G.lees(pad) == {g.id: g}
    assert pad.stat().st_mode & 0o077 == 0
    assert G.hash_wachtwoord("x").startswith("$argon2id$")
    gebruikers = G.Gebruikers(pad, max_pogingen=2)
    code = pyotp.TOTP(totp).now()
    assert gebruikers.controleer(g.id, "geheim", code).id == g.id
    # The same code twice is a replay.
    with pytest.raises(G.Aanmeldfout):
        gebruikers.controleer(g.id, "geheim", code)
    with pytest.raises(G.Aanmeldfout):
        gebruikers.controleer(g.id, "fout", code)
    # Two failures: locked, also for the right password with a fresh window's code.
    with pytest.raises(G.Aanmeldfout, match="vergrendeld"):
        gebruikers.controleer(g.id, "geheim", code)
    # An unknown user is refused the same way as a wrong password.
    with pytest.raises(G.Aanmeldfout) as onbekend:
        G.Gebruikers(pad).controleer("niemand", "geheim", code)
    assert onbekend.value.melding == G.ONJUIST


def test_anonymous_sessions_are_capped_logged_in_ones_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Sessies, "MAX_ANONIEM", 3)
    sessies = Sessies(3600)
    ingelogd = sessies.vernieuw(sessies.nieuw(), "pr-anna")
    anoniem = [sessies.nieuw() for _ in range(10)]
    assert sessies.get(ingelogd.id) is ingelogd
    assert [s for s in anoniem if sessies.get(s.id) is not None] == anoniem[-3:]
    # A new id at login: the old one is worthless.
    oud = anoniem[-1]
    nieuw = sessies.vernieuw(oud, "ic-carla")
    assert sessies.get(oud.id) is None and nieuw.csrf != oud.csrf
