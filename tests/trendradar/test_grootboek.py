"""The privacy ledger: a month is paid for once, replays are free, the budget stops releases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from gedeeld.config import TrendsConfig
from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.db import Database
from gedeeld.errors import PreconditionError
from gedeeld.federatie.bericht import DOMEIN
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import trend_pb2 as T
from services.casusregister.store import CasusRij
from services.samenwerking.store import SwMatch
from services.signalering.store import MatchRij
from services.trendradar import bronnen
from services.trendradar.publiceren import BudgetOp, Publiceerder, besteed, grootboek
from services.trendradar.tellen import Periode, tel
from tests.conftest import migreer

NU = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
OKTOBER = Periode(2026, 10)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    d = Database(database_url)
    await migreer(d)
    try:
        yield d
    finally:
        await d.close()


def publiceerder(db: Database, sleutel: Ondertekensleutel, jaar: float = 12.0) -> Publiceerder:
    return Publiceerder(db, "wvv", sleutel, TrendsConfig(epsilon_per_publicatie=1.0, epsilon_per_jaar=jaar))


async def test_a_month_is_paid_once_replayed_for_free_and_superseded_by_a_new_version(db: Database) -> None:
    sleutel = Ondertekensleutel.nieuw()
    p = publiceerder(db, sleutel)
    eerste = await p.maak(OKTOBER, NU)
    assert not eerste.herhaald
    assert (eerste.release.release_id, eerste.release.versie, eerste.release.epsilon) == (
        "wvv/2026-10",
        1,
        1.0,
    )
    env = F.Ondertekend.FromString(eerste.ondertekend)
    assert (env.afzender, env.soort) == ("wvv", "trend")
    verifieer(sleutel.publiek, DOMEIN, b"trend\x00wvv\x00" + env.inhoud, env.handtekening)

    opnieuw = await p.maak(OKTOBER, NU + timedelta(days=3))
    assert opnieuw.herhaald
    assert opnieuw.ondertekend == eerste.ondertekend  # the same noisy numbers, byte for byte
    assert await besteed(db, "wvv", 2026) == 1.0

    vervangen = await p.maak(OKTOBER, NU, vervang=True)
    assert (vervangen.release.release_id, vervangen.release.versie) == ("wvv/2026-10", 2)
    assert vervangen.release.epsilon_jaar_besteed == 2.0
    assert await besteed(db, "wvv", 2026) == 2.0
    assert [(r.periode, r.versie) for r in await grootboek(db, "wvv")] == [("2026-10", 1), ("2026-10", 2)]
    # After a new version, a plain re-release replays the newest.
    assert (await p.maak(OKTOBER, NU)).ondertekend == vervangen.ondertekend


async def test_an_exhausted_budget_stops_releases_with_a_clear_message(db: Database) -> None:
    p = publiceerder(db, Ondertekensleutel.nieuw(), jaar=3.0)
    for maand in (9, 10, 11):
        await p.maak(Periode(2026, maand), NU)
    with pytest.raises(BudgetOp) as fout:
        await p.maak(Periode(2026, 8), NU)
    assert "privacy budget for 2026 exhausted: 3 of 3 epsilon spent" in fout.value.message
    assert "nothing was released" in fout.value.message
    with pytest.raises(BudgetOp):
        await p.maak(OKTOBER, NU, vervang=True)  # a new version spends too
    assert len(await grootboek(db, "wvv")) == 3
    assert (await p.maak(OKTOBER, NU)).herhaald  # what was released stays available
    assert not (await p.maak(Periode(2025, 12), NU)).herhaald  # another year, another budget


async def test_the_running_month_is_not_released(db: Database) -> None:
    with pytest.raises(PreconditionError, match="not over yet"):
        await publiceerder(db, Ondertekensleutel.nieuw()).maak(Periode(2026, 12), NU)
    assert await grootboek(db, "wvv") == []


async def test_the_ledger_is_append_only(db: Database) -> None:
    await publiceerder(db, Ondertekensleutel.nieuw()).maak(OKTOBER, NU)
    for sql in ("UPDATE tr_grootboek SET epsilon = 0", "DELETE FROM tr_grootboek"):
        with pytest.raises((DBAPIError, IntegrityError), match="append-only"):
            async with db.transaction() as s:
                await s.execute(text(sql))
    assert await besteed(db, "wvv", 2026) == 1.0


async def test_counts_are_read_from_the_owners_tables(db: Database) -> None:
    """The seam (bronnen): casusregister's casus, signalering's sg_match, samenwerking's sw_match."""
    dag = OKTOBER.begin + timedelta(days=4)
    async with db.transaction() as s:
        for i, (thema, gesloten) in enumerate(
            [(S.THEMA_JEUGD, True), (S.THEMA_JEUGD, False), (S.THEMA_OVERIG, False)]
        ):
            cid = str(uuid.uuid4())
            s.add(
                CasusRij(
                    casus_id=cid,
                    regio="wvv",
                    status=S.CASUS_STATUS_AANGEMELD,
                    thema=thema,
                    orientatie=S.ORIENTATIE_SYSTEEMGERICHT,
                    aanmelder_type=S.AANMELDER_TYPE_POLITIE,
                    aanmelder_organisatie="",
                    criteria="{}",
                    aangemeld_op=dag,
                    gewijzigd_op=dag,
                    afgesloten_op=dag + timedelta(days=10) if gesloten else None,
                )
            )
            if i == 0:
                for ref, zekerheid in (("r1", F.ZEKERHEID_ZEKER), ("r2", F.ZEKERHEID_WAARSCHIJNLIJK)):
                    s.add(
                        MatchRij(
                            match_id=str(uuid.uuid4()),
                            eigen_casus_id=cid,
                            eigen_betrokkene_id="b",
                            eigen_referentie="e",
                            andere_regio="arnhem",
                            andere_referentie=ref,
                            sleutel_types="bsn",
                            zekerheid=zekerheid,
                            status="OPEN",
                            aangemaakt_op=dag,
                            gewijzigd_op=dag,
                        )
                    )
                s.add(
                    SwMatch(
                        match_id=str(uuid.uuid4()),
                        casus_id=cid,
                        betrokkene_id="b",
                        eigen_referentie="e",
                        andere_regio="arnhem",
                        andere_referentie="r1",
                        zekerheid=F.ZEKERHEID_ZEKER,
                        sleutel_types="bsn",
                        status="GESLOTEN",
                        aangemaakt_op=dag,
                        gewijzigd_op=dag,
                        samenwerking_op=dag + timedelta(days=20),
                    )
                )
    async with db.lezen() as s:
        telling = tel(await bronnen.feiten(s, OKTOBER), OKTOBER)
    assert telling[(T.TREND_MAAT_NIEUW, 0, 0, 0)] == 3
    assert telling[(T.TREND_MAAT_NIEUW, S.THEMA_JEUGD, 0, 0)] == 2
    assert telling[(T.TREND_MAAT_NIEUW, 0, S.ORIENTATIE_SYSTEEMGERICHT, 0)] == 3
    assert telling[(T.TREND_MAAT_AFGESLOTEN, S.THEMA_JEUGD, 0, 0)] == 1
    assert (
        telling[(T.TREND_MAAT_MATCH_ZEKER, 0, 0, 0)]
        == telling[(T.TREND_MAAT_MATCH_WAARSCHIJNLIJK, 0, 0, 0)]
        == 1
    )
    # Agreed 20 days after the match, and closed since: still counted, in class [14, 30).
    assert telling[(T.TREND_MAAT_SAMENWERKING, S.THEMA_JEUGD, 0, 0)] == 1
    assert telling[(T.TREND_MAAT_DUUR_TOT_SAMENWERKING, 0, 0, 2)] == 1
    async with db.lezen() as s:
        assert not any(tel(await bronnen.feiten(s, Periode(2026, 9)), Periode(2026, 9)).values())
