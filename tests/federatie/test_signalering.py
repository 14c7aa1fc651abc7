"""End to end over real NATS and real nodes: signals, treffers, matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY
from sqlalchemy import select

from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.store import EigenSignaalRij
from tests.federatie.knooppunten import Federatie, Regio
from tests.voorbeelden import BSN_A, BSN_B, aanmelding, betrokkene


async def test_person_in_two_regions_gives_one_match_in_each(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    ca = await a.aanmelden(aanmelding(betrokkene()))
    await federatie.rustig()
    cb = await b.aanmelden(aanmelding(betrokkene(voornamen="Jan")))

    await federatie.wacht(lambda: _beide(a, b))
    await federatie.rustig()
    ma, mb = await a.matches(), await b.matches()
    assert len(ma) == 1 and len(mb) == 1
    assert ma[0].eigen_casus_id == ca.casus_id and ma[0].andere_regio == "arnhem"
    assert mb[0].eigen_casus_id == cb.casus_id and mb[0].andere_regio == "wvv"
    assert ma[0].andere_referentie == mb[0].eigen_referentie
    assert mb[0].andere_referentie == ma[0].eigen_referentie
    assert ma[0].zekerheid == mb[0].zekerheid == F.ZEKERHEID_ZEKER
    assert "bsn" in ma[0].sleutel_types.split(",")
    assert ma[0].contact == "procesregie@arnhem.zvh.invalid"
    assert await federatie["haaglanden"].matches() == []


async def _beide(a: Regio, b: Regio) -> bool:
    return bool(await a.matches()) and bool(await b.matches())


async def test_different_people_give_no_match(federatie: Federatie) -> None:
    await federatie["wvv"].aanmelden(aanmelding(betrokkene()))
    await federatie["arnhem"].aanmelden(
        aanmelding(
            betrokkene(
                bsn=BSN_B, voornamen="Fatima", voorvoegsels="", achternaam="El Amrani", geboren=(1990, 7, 14)
            )
        )
    )
    await federatie.rustig()
    for code in ("wvv", "arnhem", "haaglanden"):
        assert await federatie[code].matches() == []


async def test_no_bsn_and_spelling_variants_give_a_probable_match(federatie: Federatie) -> None:
    await federatie["wvv"].aanmelden(
        aanmelding(
            betrokkene(
                bsn="", voornamen="Piet", voorvoegsels="van der", achternaam="Berg", geboren=(1975, 2, 1)
            )
        )
    )
    await federatie["haaglanden"].aanmelden(
        aanmelding(
            betrokkene(bsn="", voornamen="P.", voorvoegsels="", achternaam="Berg", geboren=(1975, 2, 1))
        )
    )
    await federatie["arnhem"].aanmelden(
        aanmelding(
            betrokkene(
                bsn="", voornamen="Karin", voorvoegsels="", achternaam="Janssen", geboren=(1988, 11, 30)
            )
        )
    )
    await federatie["wvv"].aanmelden(
        aanmelding(
            betrokkene(
                bsn="", voornamen="Karin", voorvoegsels="", achternaam="Jansen", geboren=(1988, 11, 30)
            )
        )
    )
    await federatie.rustig()

    wvv = await federatie["wvv"].matches()
    assert sorted(m.andere_regio for m in wvv) == ["arnhem", "haaglanden"]
    assert {m.zekerheid for m in wvv} == {F.ZEKERHEID_WAARSCHIJNLIJK}
    assert "fonetisch_datum" in next(m for m in wvv if m.andere_regio == "arnhem").sleutel_types
    assert len(await federatie["arnhem"].matches()) == 1


async def test_closing_the_case_closes_the_match_in_the_other_region(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    ca = await a.aanmelden(aanmelding(betrokkene()))
    await b.aanmelden(aanmelding(betrokkene()))
    await federatie.rustig()
    assert [m.status for m in await b.matches()] == ["OPEN"]

    await a.afsluiten(ca.casus_id)
    await federatie.rustig()

    assert [m.status for m in await b.matches()] == ["GESLOTEN"]
    assert [m.status for m in await a.matches()] == ["GESLOTEN"]
    # A's tokens left its index: a third registration elsewhere matches only B.
    await federatie["haaglanden"].aanmelden(aanmelding(betrokkene()))
    await federatie.rustig()
    assert sorted(m.andere_regio for m in await federatie["haaglanden"].matches()) == ["arnhem"]


async def test_simultaneous_registration_gives_exactly_one_match_per_region(federatie: Federatie) -> None:
    import asyncio

    a, b = federatie["wvv"], federatie["arnhem"]
    await asyncio.gather(a.aanmelden(aanmelding(betrokkene())), b.aanmelden(aanmelding(betrokkene())))
    await federatie.rustig()
    assert len(await a.matches()) == 1
    assert len(await b.matches()) == 1


async def test_region_down_catches_up_and_matches(federatie: Federatie) -> None:
    await federatie.stop("haaglanden")
    await federatie["wvv"].aanmelden(aanmelding(betrokkene()))
    await federatie["arnhem"].aanmelden(aanmelding(betrokkene(bsn=BSN_A)))
    await federatie.rustig()

    await federatie.start("haaglanden")
    await federatie["haaglanden"].aanmelden(aanmelding(betrokkene()))
    await federatie.rustig()

    assert sorted(m.andere_regio for m in await federatie["haaglanden"].matches()) == ["arnhem", "wvv"]
    assert len(await federatie["wvv"].matches()) == 2


async def test_renewal_republishes_a_signal_before_expiry_and_keeps_one_match(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    await a.aanmelden(aanmelding(betrokkene()))
    await b.aanmelden(aanmelding(betrokkene(voornamen="Jan")))
    await federatie.rustig()
    assert a.node is not None and a.node.signalering is not None
    signalering = a.node.signalering
    async with a.node.db.transaction() as s:
        [rij] = (await s.execute(select(EigenSignaalRij))).scalars().all()
        oud_id, ref = rij.signaal_id, rij.referentie
        rij.verloopt_op = datetime.now(UTC) + timedelta(days=3)
    gepubliceerd = _geteld("zvh_signals_published_total", {"soort": "actief"})

    assert await signalering.vernieuw() == 1
    await federatie.rustig()

    async with a.node.db.lezen() as s:
        [rij] = (await s.execute(select(EigenSignaalRij))).scalars().all()
    assert rij.referentie == ref and rij.signaal_id != oud_id and rij.gepubliceerd
    assert rij.verloopt_op > datetime.now(UTC) + timedelta(days=700)
    assert _geteld("zvh_signals_published_total", {"soort": "actief"}) == gepubliceerd + 1
    # The renewed signal is matched again by arnhem, but the pair stays one match on each side.
    assert len(await a.matches()) == 1 and len(await b.matches()) == 1
    # Nothing left to renew.
    assert await signalering.vernieuw() == 0


def _geteld(naam: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(naam, labels) or 0.0
