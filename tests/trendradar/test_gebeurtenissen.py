"""The trend radar's own facts, from the region's events on a real nats-server and a real database.

The events are published here as their owners publish them (casusregister's outbox relay,
signalering's and samenwerking's outboxes): on ``regio.<r>.…`` of the stream ``REGIO_<R>``, with
``Nats-Msg-Id`` = the event id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, event, select

from gedeeld.db import Database
from gedeeld.nats import onderwerpen
from gedeeld.nats.jetstream import Uitkomst
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from gedeeld.zvh.v1 import trend_pb2 as T
from services.trendradar import bronnen
from services.trendradar.gebeurtenissen import DURABLES, Feitenbron, Onbruikbaar, zekerheid
from services.trendradar.tellen import tel
from tests.trendradar.regiostroom import (
    DAG,
    NOVEMBER,
    REGIO,
    Radar,
    casus_gebeurtenis,
    draaiend,
    gestart,
    gevonden,
    inhoud,
)
from tests.voorbeelden import BSN_A, betrokkene


@pytest.fixture
async def radar(nc: Client, db: Database) -> AsyncIterator[Radar]:
    async with draaiend(nc.jetstream(), db) as r:
        yield r


async def test_each_kind_of_event_lands_in_its_fact_table_and_is_counted(radar: Radar) -> None:
    cid, mid = str(uuid.uuid4()), str(uuid.uuid4())
    await radar.publiceer("casus", "aangemeld", casus_gebeurtenis(cid, 1))
    await radar.publiceer("match", "gevonden", gevonden(mid, cid, DAG + timedelta(days=1)))
    await radar.publiceer(
        "samenwerking", "gestart", gestart(mid, cid, DAG + timedelta(days=1), DAG + timedelta(days=9))
    )
    for bron in ("casus", "match", "samenwerking"):
        await radar.verwerkt(bron, 1)

    assert await inhoud(radar.db) == {
        "tr_casus": [(cid, S.THEMA_JEUGD, S.ORIENTATIE_SYSTEEMGERICHT, DAG, None, 1)],
        "tr_match": [(mid, cid, F.ZEKERHEID_ZEKER, DAG + timedelta(days=1))],
        "tr_samenwerking": [(mid, cid, DAG + timedelta(days=1), DAG + timedelta(days=9))],
    }
    async with radar.db.lezen() as s:
        telling = tel(await bronnen.feiten(s, NOVEMBER), NOVEMBER)
    assert telling[(T.TREND_MAAT_NIEUW, S.THEMA_JEUGD, 0, 0)] == 1
    assert telling[(T.TREND_MAAT_MATCH_ZEKER, 0, S.ORIENTATIE_SYSTEEMGERICHT, 0)] == 1
    assert telling[(T.TREND_MAAT_MATCH_WAARSCHIJNLIJK, 0, 0, 0)] == 0
    assert telling[(T.TREND_MAAT_SAMENWERKING, 0, 0, 0)] == 1
    assert telling[(T.TREND_MAAT_DUUR_TOT_SAMENWERKING, 0, 0, 1)] == 1  # 8 days: class [7, 14)


async def test_redelivery_and_repeated_facts_change_nothing(radar: Radar) -> None:
    cid, mid = str(uuid.uuid4()), str(uuid.uuid4())
    gesloten = DAG + timedelta(days=12)
    eerste = casus_gebeurtenis(cid, 1)
    await radar.publiceer("casus", "aangemeld", eerste)
    await radar.publiceer(
        "casus", "afgesloten", casus_gebeurtenis(cid, 2, G.GEBEURTENIS_SOORT_AFGESLOTEN, afgesloten=gesloten)
    )
    await radar.publiceer("casus", "aangemeld", eerste)  # an older version, once more: ignored
    await radar.publiceer("match", "gevonden", gevonden(mid, cid, DAG + timedelta(days=1)))
    # The same match again, as a second publisher (or a replayed outbox) would send it.
    await radar.publiceer(
        "match", "gevonden", gevonden(mid, cid, DAG + timedelta(days=2), F.ZEKERHEID_WAARSCHIJNLIJK)
    )
    await radar.publiceer(
        "samenwerking", "gestart", gestart(mid, cid, DAG + timedelta(days=1), DAG + timedelta(days=5))
    )
    # A later start of the same joint handling: the first one stays (samenwerking stamps it once).
    await radar.publiceer(
        "samenwerking", "gestart", gestart(mid, cid, DAG + timedelta(days=1), DAG + timedelta(days=8))
    )
    await radar.verwerkt("casus", 3)
    await radar.verwerkt("match", 2)
    await radar.verwerkt("samenwerking", 2)
    voor = await inhoud(radar.db)
    assert voor == {
        "tr_casus": [(cid, S.THEMA_JEUGD, S.ORIENTATIE_SYSTEEMGERICHT, DAG, gesloten, 2)],
        "tr_match": [(mid, cid, F.ZEKERHEID_ZEKER, DAG + timedelta(days=1))],
        "tr_samenwerking": [(mid, cid, DAG + timedelta(days=1), DAG + timedelta(days=5))],
    }

    # Redelivery of everything: the consumers are removed and made anew, so JetStream delivers
    # every event of the stream a second time.
    await radar.stop()
    for durable in DURABLES.values():
        await radar.js.delete_consumer(onderwerpen.regiostroom(REGIO), durable)
    radar.start()
    await radar.verwerkt("casus", 3)
    await radar.verwerkt("match", 2)
    await radar.verwerkt("samenwerking", 2)
    assert await inhoud(radar.db) == voor


async def test_a_malformed_event_is_refused_counted_and_the_consumer_goes_on(
    radar: Radar, caplog: pytest.LogCaptureFixture
) -> None:
    def geweigerd(bron: str, reden: str) -> float:
        return (
            REGISTRY.get_sample_value("zvh_trendradar_events_rejected_total", {"bron": bron, "reden": reden})
            or 0.0
        )

    soorten = [
        ("casus", "onleesbaar"),
        ("casus", "verkeerde_regio"),
        ("casus", "onvolledig"),
        ("match", "onleesbaar"),
        ("match", "zekerheid"),
        ("samenwerking", "onvolledig"),
    ]
    voor = {s: geweigerd(*s) for s in soorten}
    cid, mid = str(uuid.uuid4()), str(uuid.uuid4())
    afgekapt = b"\x0a\x05ab"  # field 1, five bytes announced, two there: not a protobuf message
    caplog.set_level(logging.WARNING, logger="zvh.trendradar")

    await radar.publiceer("casus", "aangemeld", afgekapt)
    await radar.publiceer("casus", "aangemeld", casus_gebeurtenis(str(uuid.uuid4()), 1, regio="arnhem"))
    await radar.publiceer("casus", "aangemeld", casus_gebeurtenis("", 1))
    await radar.publiceer("casus", "aangemeld", casus_gebeurtenis(cid, 1))
    await radar.publiceer("match", "gevonden", afgekapt)
    await radar.publiceer("match", "gevonden", gevonden(str(uuid.uuid4()), cid, DAG, z=0, types=""))
    await radar.publiceer("match", "gevonden", gevonden(mid, cid, DAG))
    await radar.publiceer("samenwerking", "gestart", gestart(mid, cid, DAG, None))
    await radar.publiceer("samenwerking", "gestart", gestart(mid, cid, DAG, DAG + timedelta(days=1)))
    await radar.verwerkt("casus", 4)
    await radar.verwerkt("match", 3)
    await radar.verwerkt("samenwerking", 2)

    # Only the good events were kept; each refusal is counted by source and reason.
    feiten = await inhoud(radar.db)
    assert [r[0] for r in feiten["tr_casus"]] == [cid]
    assert [r[0] for r in feiten["tr_match"]] == [mid]
    assert [r[3] for r in feiten["tr_samenwerking"]] == [DAG + timedelta(days=1)]
    assert {s: geweigerd(*s) - voor[s] for s in soorten} == dict.fromkeys(soorten, 1.0)
    # Refused means terminated: nothing waits for a redelivery.
    for durable in DURABLES.values():
        info = await radar.js.consumer_info(onderwerpen.regiostroom(REGIO), durable)
        assert (info.num_pending, info.num_ack_pending) == (0, 0)
    geweigerd_log = [r for r in caplog.records if r.getMessage() == "region event refused"]
    assert len(geweigerd_log) == len(soorten)
    assert all(r.subject.startswith(f"regio.{REGIO}.") for r in geweigerd_log)  # type: ignore[attr-defined]


async def test_no_identifier_is_stored_and_deleted_data_keeps_its_counting_facts(
    radar: Radar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cid = str(uuid.uuid4())
    persoon = betrokkene(voornamen="Gerrit Jan", achternaam="Zwanenburg", geboren=(1977, 8, 19))
    persoon.betrokkene_id = str(uuid.uuid4())
    geheimen = [BSN_A, "Gerrit", "Zwanenburg", "1977-08-19", "19-08-1977", "19770819", persoon.betrokkene_id]
    gesloten = DAG + timedelta(days=4)
    await radar.publiceer("casus", "aangemeld", casus_gebeurtenis(cid, 1, personen=[persoon]))
    await radar.publiceer(
        "casus",
        "afgesloten",
        casus_gebeurtenis(cid, 2, G.GEBEURTENIS_SOORT_AFGESLOTEN, afgesloten=gesloten, personen=[persoon]),
    )
    await radar.verwerkt("casus", 2)
    # Retention: casusregister removes the persons; the casus skeleton stays, and so do our facts.
    await radar.publiceer(
        "casus",
        "gegevens_verwijderd",
        casus_gebeurtenis(cid, 3, G.GEBEURTENIS_SOORT_GEGEVENS_VERWIJDERD, afgesloten=gesloten, personen=[]),
    )
    await radar.verwerkt("casus", 3)
    assert (await inhoud(radar.db))["tr_casus"] == [
        (cid, S.THEMA_JEUGD, S.ORIENTATIE_SYSTEEMGERICHT, DAG, gesloten, 3)
    ]
    async with radar.db.lezen() as s:
        telling = tel(await bronnen.feiten(s, NOVEMBER), NOVEMBER)
    assert telling[(T.TREND_MAAT_NIEUW, 0, 0, 0)] == telling[(T.TREND_MAAT_AFGESLOTEN, 0, 0, 0)] == 1

    # Every row of every table of the database (only the trend radar wrote to it), and the logs.
    alles = MetaData()
    async with radar.db.engine.connect() as conn:
        await conn.run_sync(alles.reflect)
        rijen = [repr(tuple(r)) for t in alles.sorted_tables for r in await conn.execute(select(t))]
    opgeslagen = "\n".join(rijen + [r.getMessage() + repr(r.__dict__) for r in caplog.records]).lower()
    assert cid in opgeslagen  # the check can see what is there
    for geheim in geheimen:
        assert geheim.lower() not in opgeslagen, geheim


def test_confidence_comes_from_the_event_or_else_from_the_key_types_that_hit() -> None:
    def m(z: int, types: str) -> G.MatchGevonden:
        return G.MatchGevonden(zekerheid=z, sleutel_types=types)

    assert zekerheid(m(F.ZEKERHEID_ZEKER, "")) == F.ZEKERHEID_ZEKER
    assert zekerheid(m(F.ZEKERHEID_WAARSCHIJNLIJK, "bsn")) == F.ZEKERHEID_WAARSCHIJNLIJK  # the event's word
    # Another scale (0-100) than the Zekerheid values: the rule of signalering, BSN hit = ZEKER.
    assert zekerheid(m(100, "BSN,NAAM_DATUM")) == F.ZEKERHEID_ZEKER
    assert zekerheid(m(60, "naam_datum, fonetisch_datum")) == F.ZEKERHEID_WAARSCHIJNLIJK
    for z, types in ((0, ""), (70, "onbekend_type")):
        with pytest.raises(Onbruikbaar) as fout:
            zekerheid(m(z, types))
        assert fout.value.reden == "zekerheid"


async def test_a_batch_of_case_events_is_kept_in_one_transaction_in_stream_order(db: Database) -> None:
    """Case events come one per registration: a fetched batch is one commit, and within it the
    newest version of a casus wins as it would one event at a time."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    gesloten = DAG + timedelta(days=12)
    subject = onderwerpen.gebeurtenis(REGIO, "casus", "aangemeld")
    batch = [
        casus_gebeurtenis(a, 1),
        b"\x0a\x05ab",  # malformed: refused, the rest of the batch is kept
        casus_gebeurtenis(a, 2, G.GEBEURTENIS_SOORT_AFGESLOTEN, afgesloten=gesloten),
        casus_gebeurtenis(a, 1),  # older than what the batch already holds: ignored
        casus_gebeurtenis(b, 1),
    ]
    commits: list[int] = []
    event.listen(db.engine.sync_engine, "commit", lambda _conn: commits.append(1))
    uitkomsten = await Feitenbron(db, REGIO).bij_casussen(
        [Msg(_client=None, subject=subject, data=data) for data in batch]  # type: ignore[arg-type]
    )
    assert uitkomsten == [Uitkomst.KLAAR, Uitkomst.WEIGER, Uitkomst.KLAAR, Uitkomst.KLAAR, Uitkomst.KLAAR]
    assert len(commits) == 1
    assert sorted((await inhoud(db))["tr_casus"]) == sorted(
        [
            (a, S.THEMA_JEUGD, S.ORIENTATIE_SYSTEEMGERICHT, DAG, gesloten, 2),
            (b, S.THEMA_JEUGD, S.ORIENTATIE_SYSTEEMGERICHT, DAG, None, 1),
        ]
    )
