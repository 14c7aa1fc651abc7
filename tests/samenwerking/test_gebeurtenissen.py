"""Samenwerking learns of matches only from signalering's region-local events (MatchGevonden,
MatchGesloten, SignaalReferentie on REGIO_<R>), applies each once, and announces agreement
(SamenwerkingGestart); neither service imports another
(tests/test_afhankelijkheden.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.msg import Msg
from sqlalchemy import select

from gedeeld.nats import onderwerpen
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import gebeurtenis_pb2 as G
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from services.samenwerking.store import SwCasus
from tests.conftest import begrensd
from tests.federatie import knooppunten
from tests.federatie.knooppunten import PR, Federatie, Regio, als
from tests.voorbeelden import aanmelding, betrokkene

ST = M.MatchStatus


@pytest.fixture
async def wvv(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Regio]:
    """wvv's node alone (arnhem is in the registry, not running): its events are made by hand."""
    fed = await knooppunten.maak(tmp_path, nats_server.url, n=2, t=2)
    await fed.start("wvv")
    try:
        yield fed["wvv"]
    finally:
        await begrensd("stop wvv", fed.stop("wvv"))


async def publiceer(regio: Regio, soort: str, bericht: G.MatchGevonden | G.MatchGesloten) -> None:
    """As signalering's outbox relay does; a fresh Nats-Msg-Id, so a repeat is a redelivery that
    JetStream's de-duplication does not catch."""
    assert regio.node is not None and regio.node.nc is not None
    await regio.node.nc.jetstream().publish(
        onderwerpen.gebeurtenis("wvv", "match", soort),
        bericht.SerializeToString(),
        headers={"Nats-Msg-Id": str(uuid.uuid4())},
    )


async def test_a_redelivered_match_event_adds_nothing_and_a_closing_event_closes(wvv: Regio) -> None:
    volgen = wvv.matchstub().Volgen(M.VolgenRequest(), metadata=als(PR))
    stroom = aiter(volgen)
    gevonden = G.MatchGevonden(
        gebeurtenis_id=str(uuid.uuid4()),
        match_id=str(uuid.uuid4()),
        casus_id=str(uuid.uuid4()),
        betrokkene_id=str(uuid.uuid4()),
        eigen_referentie=uuid.uuid4().hex,
        andere_regio="arnhem",
        andere_referentie=uuid.uuid4().hex,
        sleutel_types="bsn",
        zekerheid=F.ZEKERHEID_ZEKER,
    )
    gevonden.tijdstip.FromDatetime(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await publiceer(wvv, "gevonden", gevonden)
    nieuw = await asyncio.wait_for(anext(stroom), 20)
    assert nieuw.nieuw and nieuw.match.match_id == gevonden.match_id
    assert nieuw.match.status == ST.MATCH_STATUS_NIEUW
    assert nieuw.match.zekerheid == F.ZEKERHEID_ZEKER
    assert nieuw.match.contact_regio == "procesregie@arnhem.zvh.invalid"

    # The same event again (a redelivery), then the closing: the feed's next change is the closing.
    await publiceer(wvv, "gevonden", gevonden)
    await publiceer(wvv, "gesloten", G.MatchGesloten(gebeurtenis_id="g2", match_ids=[gevonden.match_id]))
    dicht = await asyncio.wait_for(anext(stroom), 20)
    volgen.cancel()
    assert not dicht.nieuw and dicht.match.match_id == gevonden.match_id
    assert dicht.match.status == ST.MATCH_STATUS_GESLOTEN
    assert [m.match_id for m in await wvv.inbox()] == [gevonden.match_id]

    # Closed once: a redelivered closing changes nothing either (the feed does not grow).
    assert wvv.node is not None and wvv.node.samenwerking is not None
    register = wvv.node.samenwerking.register
    assert await register.gesloten(G.MatchGesloten(match_ids=[gevonden.match_id])) == set()
    assert await register.gevonden(gevonden) is False
    kop = (await wvv.matchstub().Lijst(M.LijstRequest(), metadata=als(PR))).resume_token
    assert kop == dicht.resume_token


async def test_a_closing_of_an_unknown_match_is_retried_not_dropped(wvv: Regio) -> None:
    assert wvv.node is not None and wvv.node.samenwerking is not None
    samenwerking = wvv.node.samenwerking
    onbekend = G.MatchGesloten(gebeurtenis_id="g", match_ids=[str(uuid.uuid4())])
    msg = Msg(
        samenwerking.nc,
        subject=onderwerpen.gebeurtenis("wvv", "match", "gesloten"),
        data=onbekend.SerializeToString(),
    )
    assert (await samenwerking._bij_match(msg)).value == "opnieuw"


async def test_agreement_is_announced_to_the_region(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    nc = await verbind(federatie.url, "trendradar-als-lezer")
    gestart: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()

    async def bij(msg: Msg) -> None:
        if not gestart.done():
            gestart.set_result(msg)

    await nc.subscribe(onderwerpen.gebeurtenis("wvv", "samenwerking", "gestart"), cb=bij)
    try:
        await a.casus_voor(aanmelding(betrokkene()))
        await b.casus_voor(aanmelding(betrokkene(voornamen="Jan")))
        await federatie.rustig()
        [ma] = await a.inbox()
        [mb] = await b.inbox()
        await a.matchstub().Voorstellen(
            M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="wvv"), metadata=als(PR)
        )
        await federatie.rustig()
        assert not gestart.done(), "a proposal is not an agreement"
        await b.matchstub().Akkoord(M.AkkoordRequest(match_id=mb.match_id), metadata=als(PR))
        msg = await asyncio.wait_for(gestart, 20)
        g = G.SamenwerkingGestart.FromString(msg.data)
        assert g.match_id == ma.match_id and g.casus_id == ma.casus_id
        assert (msg.headers or {})["Nats-Msg-Id"] == g.gebeurtenis_id
        assert g.gestart_op.ToDatetime() >= g.gevonden_op.ToDatetime()
    finally:
        await nc.close()


async def test_batches_of_case_and_reference_events_are_applied_in_stream_order(wvv: Regio) -> None:
    """Case events and signal references come one per registration and are read in batches: the
    last event of a casus wins, a malformed one is refused without losing the others."""
    assert wvv.node is not None and wvv.node.samenwerking is not None
    samenwerking = wvv.node.samenwerking
    a, b = str(uuid.uuid4()), str(uuid.uuid4())

    def casus(casus_id: str, procesregisseur: str) -> bytes:
        c = S.Casus(casus_id=casus_id, regio="wvv", procesregisseur=procesregisseur)
        return G.CasusGebeurtenis(gebeurtenis_id=str(uuid.uuid4()), casus=c).SerializeToString()

    def msg(subject: str, data: bytes) -> Msg:
        return Msg(samenwerking.nc, subject=subject, data=data)

    casus_subject = onderwerpen.gebeurtenis("wvv", "casus", "gewijzigd")
    uitkomsten = await samenwerking._bij_gebeurtenissen(
        [
            msg(casus_subject, casus(a, "pr-anna")),
            msg(casus_subject, b"\x0a\x05ab"),
            msg(casus_subject, casus(a, "pr-bram")),
            msg(casus_subject, casus(b, "pr-carla")),
        ]
    )
    assert [u.value for u in uitkomsten] == ["klaar", "weiger", "klaar", "klaar"]
    async with samenwerking.register.db.lezen() as s:
        rijen = {r.casus_id: r.procesregisseur for r in (await s.execute(select(SwCasus))).scalars()}
    assert (rijen[a], rijen[b]) == ("pr-bram", "pr-carla")

    def referentie(ref: str, casus_id: str) -> bytes:
        return G.SignaalReferentie(referentie=ref, casus_id=casus_id).SerializeToString()

    ref_subject = onderwerpen.gebeurtenis("wvv", "signaal", "referentie")
    een, twee = uuid.uuid4().hex, uuid.uuid4().hex
    uitkomsten = await samenwerking._bij_referenties(
        [
            msg(ref_subject, referentie(een, a)),
            msg(onderwerpen.gebeurtenis("wvv", "signaal", "anders"), b"niet voor samenwerking"),
            msg(ref_subject, referentie("", a)),
            msg(ref_subject, referentie(een, a)),  # the same reference twice in one batch
            msg(ref_subject, referentie(twee, b)),
        ]
    )
    assert [u.value for u in uitkomsten] == ["klaar", "klaar", "weiger", "klaar", "klaar"]
    assert await samenwerking.register.bekende_referentie(een)
    assert await samenwerking.register.bekende_referentie(twee)
