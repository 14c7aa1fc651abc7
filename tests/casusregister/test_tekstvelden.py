"""Free text from users (names, voorvoegsels, organisatie, toelichtingen, procesregisseur, inzage
referentie) goes through gedeeld/tekst.py: NUL and other control characters, bidirectional
overrides and over-long text get INVALID_ARGUMENT with a field violation naming the field path,
the same on SQLite and PostgreSQL (where a NUL would otherwise be a database error), and nothing
is stored, cut or cleaned."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest

from gedeeld.grpc.status import field_violations
from gedeeld.zvh.v1 import casus_pb2 as S
from services.casusregister.store import BetrokkeneRij, CasusRij
from tests.casusregister.test_aanmelden import fout, tel
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import BSN_B, aanmelding, betrokkene

IC, NM, FG = "ic-carla", "nm-dirk", "fg-eva"
NUL, RLO, LRI, ESC = "\x00", "\u202e", "\u2066", "\x1b"


def schendingen(e: grpc.aio.AioRpcError) -> dict[str, str]:
    return dict(field_violations(e.trailing_metadata()))


def _tweede(r: S.AanmeldenRequest) -> S.Betrokkene:
    r.betrokkenen.append(betrokkene(bsn=BSN_B))
    return r.betrokkenen[1]


def _incidentele_organisatie_met_rlo(r: S.AanmeldenRequest) -> None:
    r.aanmelder.type = S.AANMELDER_TYPE_INCIDENTEEL
    r.aanmelder.organisatie = f"Stichting{RLO}"


AANMELDEN: list[tuple[Callable[[S.AanmeldenRequest], object], str, str]] = [
    (
        lambda r: setattr(r.betrokkenen[0], "achternaam", f"Berg{NUL}"),
        "betrokkenen[0].achternaam",
        "besturing",
    ),
    (lambda r: setattr(_tweede(r), "achternaam", f"{RLO}greB"), "betrokkenen[1].achternaam", "leesrichting"),
    (
        lambda r: setattr(r.betrokkenen[0], "voornamen", f"Jan{LRI}"),
        "betrokkenen[0].voornamen",
        "leesrichting",
    ),
    (
        lambda r: setattr(r.betrokkenen[0], "voorvoegsels", f"van{ESC}"),
        "betrokkenen[0].voorvoegsels",
        "besturing",
    ),
    (lambda r: setattr(r.betrokkenen[0], "voorvoegsels", "v" * 51), "betrokkenen[0].voorvoegsels", "te lang"),
    (lambda r: setattr(r.betrokkenen[0], "achternaam", "\n"), "betrokkenen[0].achternaam", "verplicht"),
    (
        lambda r: setattr(r.betrokkenen[0], "achternaam", "Berg\nJansen"),
        "betrokkenen[0].achternaam",
        "besturing",
    ),
    (
        _incidentele_organisatie_met_rlo,
        "aanmelder.organisatie",
        "leesrichting",
    ),
    (
        lambda r: setattr(r.wgs_criteria.b_regulier_onvoldoende, "toelichting", f"zie{NUL}bijlage"),
        "wgs_criteria.b_regulier_onvoldoende.toelichting",
        "besturing",
    ),
]


@pytest.mark.parametrize(("wijzig", "veld", "reden"), AANMELDEN, ids=[v for _, v, _ in AANMELDEN])
async def test_control_and_bidi_characters_in_aanmelden_name_their_field(
    register: RegisterOpLoopback, wijzig: Callable[[S.AanmeldenRequest], object], veld: str, reden: str
) -> None:
    req = aanmelding()
    wijzig(req)
    e = await fout(register.stub.Aanmelden(req, metadata=register.als(IC)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    fouten = schendingen(e)
    assert list(fouten) == [veld] and reden in fouten[veld]
    # The description never quotes the value.
    assert "Berg" not in (e.details() or "") and NUL not in (e.details() or "")
    assert await tel(register, CasusRij) == 0 and await tel(register, BetrokkeneRij) == 0


async def test_several_bad_texts_are_reported_at_once_and_good_ones_stored_unchanged(
    register: RegisterOpLoopback,
) -> None:
    req = aanmelding(betrokkene(achternaam=f"A{NUL}"), betrokkene(bsn=BSN_B, voornamen=f"B{RLO}"))
    e = await fout(register.stub.Aanmelden(req, metadata=register.als(IC)))
    assert set(schendingen(e)) == {"betrokkenen[0].achternaam", "betrokkenen[1].voornamen"}
    # A toelichting may hold several lines; a name with diacritics and a maximal length passes whole.
    naam = "Çelik-Ünal " + "x" * 189
    goed = aanmelding(betrokkene(achternaam=naam))
    goed.wgs_criteria.a_meervoudige_problematiek.toelichting = "regel 1\nregel 2\tmet tab"
    c = (await register.stub.Aanmelden(goed, metadata=register.als(IC))).casus
    opgehaald = await register.stub.Ophalen(S.OphalenRequest(casus_id=c.casus_id), metadata=register.als(IC))
    assert len(naam) == 200 and opgehaald.betrokkenen[0].achternaam == naam


async def test_other_casus_texts_are_checked_the_same_way(register: RegisterOpLoopback) -> None:
    c = (await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))).casus
    gevallen: list[tuple[Awaitable[object], str]] = [
        (
            register.stub.Toewijzen(
                S.ToewijzenRequest(casus_id=c.casus_id, procesregisseur=f"pr-anna{NUL}"),
                metadata=register.als(NM),
            ),
            "procesregisseur",
        ),
        (
            register.stub.StatusWijzigen(
                S.StatusWijzigenRequest(
                    casus_id=c.casus_id, nieuwe_status=S.CASUS_STATUS_IN_BEHANDELING, toelichting=f"ok{RLO}"
                ),
                metadata=register.als(NM),
            ),
            "toelichting",
        ),
        (
            register.stub.Afsluiten(
                S.AfsluitenRequest(casus_id=c.casus_id, reden=S.AFSLUIT_REDEN_ANDERS, toelichting="x" * 501),
                metadata=register.als(NM),
            ),
            "toelichting",
        ),
        # A filter value: on PostgreSQL a NUL in the query would be a database error (INTERNAL).
        (
            register.stub.Zoeken(S.ZoekenRequest(procesregisseur=f"pr{NUL}"), metadata=register.als(NM)),
            "procesregisseur",
        ),
        (
            register.stub.Inzage(
                S.InzageRequest(achternaam=f"Berg{NUL}", verzoek_referentie=f"AVG{RLO}1"),
                metadata=register.als(FG),
            ),
            "achternaam",
        ),
    ]
    for call, veld in gevallen:
        e = await fout(call)
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (veld, e.details())
        assert veld in schendingen(e), (veld, schendingen(e))
    e = await fout(
        register.stub.Inzage(
            S.InzageRequest(bsn="", achternaam="Berg", verzoek_referentie=f"AVG{RLO}1"),
            metadata=register.als(FG),
        )
    )
    assert "verzoek_referentie" in schendingen(e)
    # Nothing changed: same version, no procesregisseur.
    na = await register.stub.Ophalen(S.OphalenRequest(casus_id=c.casus_id), metadata=register.als(NM))
    assert na.versie == c.versie and na.procesregisseur == "" and na.status == S.CASUS_STATUS_AANGEMELD
