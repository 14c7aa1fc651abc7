"""The privacy ledger: a month is paid for once, replays are free, the budget stops releases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from gedeeld.config import TrendsConfig
from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.db import Database
from gedeeld.federatie.bericht import DOMEIN
from gedeeld.fouten import PreconditionError
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from gedeeld.zvh.v1 import trend_pb2 as T
from services.trendradar import bronnen
from services.trendradar.publiceren import BudgetOp, Publiceerder, besteed, grootboek
from services.trendradar.tellen import Periode, tel
from tests.trendradar.regiostroom import casus_gebeurtenis, draaiend, gestart, gevonden

NU = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
OKTOBER = Periode(2026, 10)


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


async def test_counts_are_read_from_the_facts_kept_from_the_regions_events(db: Database, nc: Client) -> None:
    """The seam (bronnen): the trend radar's own tables, fed by casusregister's case events,
    signalering's MatchGevonden and samenwerking's SamenwerkingGestart on REGIO_WVV."""
    dag = OKTOBER.begin + timedelta(days=4)
    async with draaiend(nc.jetstream(), db) as radar:
        gevallen = 0
        for i, (thema, gesloten) in enumerate(
            [(S.THEMA_JEUGD, True), (S.THEMA_JEUGD, False), (S.THEMA_OVERIG, False)]
        ):
            cid = str(uuid.uuid4())
            await radar.publiceer("casus", "aangemeld", casus_gebeurtenis(cid, 1, thema=thema, aangemeld=dag))
            gevallen += 1
            if gesloten:
                await radar.publiceer(
                    "casus",
                    "afgesloten",
                    casus_gebeurtenis(
                        cid,
                        2,
                        G.GEBEURTENIS_SOORT_AFGESLOTEN,
                        thema=thema,
                        aangemeld=dag,
                        afgesloten=dag + timedelta(days=10),
                    ),
                )
                gevallen += 1
            if i == 0:
                mids = [str(uuid.uuid4()), str(uuid.uuid4())]
                for mid, zekerheid in zip(mids, (F.ZEKERHEID_ZEKER, F.ZEKERHEID_WAARSCHIJNLIJK), strict=True):
                    await radar.publiceer("match", "gevonden", gevonden(mid, cid, dag, zekerheid))
                await radar.publiceer(
                    "samenwerking", "gestart", gestart(mids[0], cid, dag, dag + timedelta(days=20))
                )
        await radar.verwerkt("casus", gevallen)
        await radar.verwerkt("match", 2)
        await radar.verwerkt("samenwerking", 1)
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
