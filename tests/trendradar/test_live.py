"""The live path feeds the trend radar: a real match and agreed joint handling are counted."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

from gedeeld.zvh.v1 import samenwerking_pb2 as M
from gedeeld.zvh.v1 import trend_pb2 as T
from services.samenwerking.store import SwMatch
from services.trendradar import bronnen
from services.trendradar.tellen import Periode, tel
from tests.federatie.knooppunten import PR, Federatie, als
from tests.voorbeelden import aanmelding, betrokkene


async def test_an_agreed_joint_handling_is_stamped_and_counted_in_both_regions(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    begin = datetime.now(UTC)
    await a.casus_voor(aanmelding(betrokkene()))
    await b.casus_voor(aanmelding(betrokkene(voornamen="Jan")))
    await federatie.rustig()
    [ma], [mb] = await a.inbox(), await b.inbox()
    await a.matchstub().Voorstellen(
        M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="wvv", contactgegevens="Anna"),
        metadata=als(PR),
    )
    await federatie.rustig()
    await b.matchstub().Akkoord(
        M.AkkoordRequest(match_id=mb.match_id, contactgegevens="Bram"), metadata=als(PR)
    )
    await federatie.rustig()
    # Signalering's MatchGevonden and samenwerking's SamenwerkingGestart reach each region's trend
    # radar through their outboxes; the stamp is what SamenwerkingGestart carries.
    for regio in (a, b):
        assert regio.node is not None
        async with regio.node.db.lezen() as s:
            [gestempeld] = (await s.execute(select(SwMatch.samenwerking_op))).scalars().all()
        assert gestempeld is not None
    await federatie.rustig()
    # Summed over the months the test ran in (it may cross a month's end).
    periodes = {Periode.van(begin), Periode.van(datetime.now(UTC))}
    for regio in (a, b):
        assert regio.node is not None
        async with regio.node.db.lezen() as s:
            telling = Counter[tuple[int, int, int, int]]()
            for p in periodes:
                telling.update(tel(await bronnen.feiten(s, p), p))
        assert telling[(T.TREND_MAAT_NIEUW, 0, 0, 0)] == 1
        assert telling[(T.TREND_MAAT_MATCH_ZEKER, 0, 0, 0)] == 1
        assert telling[(T.TREND_MAAT_SAMENWERKING, 0, 0, 0)] == 1
        assert telling[(T.TREND_MAAT_DUUR_TOT_SAMENWERKING, 0, 0, 0)] == 1  # agreed within a week
