"""One trace_id follows a registration through the logs of two regions, and the logs name no one.

Registration RPC in arnhem -> outbox event -> arnhem's signalering -> signal -> wvv finds the match
-> treffer -> arnhem records it: every step logs a JSON line carrying the caller's trace_id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from gedeeld.beheer.logregels import JsonFormatter, demp_bibliotheken
from gedeeld.beheer.tracing import TraceContext
from gedeeld.nats.server import NatsServer
from tests.conftest import token_van
from tests.federatie import knooppunten
from tests.federatie.knooppunten import IC, Federatie
from tests.voorbeelden import BSN_B, aanmelding, betrokkene

ACHTERNAAM, VOORNAMEN, GEBOREN = "Vredenburgh", "Gijsbrecht", (1971, 9, 23)


class Opvanger(logging.Handler):
    """Formats each record as the node's stderr handler does (in the logging call's context)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.regels: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.regels.append(self.format(record))

    def docs(self) -> list[dict[str, Any]]:
        return [json.loads(r) for r in self.regels]


@pytest.fixture
def logs() -> Iterator[Opvanger]:
    root = logging.getLogger()
    vorig = root.level
    opvanger = Opvanger()
    demp_bibliotheken()
    root.addHandler(opvanger)
    root.setLevel(logging.INFO)
    try:
        yield opvanger
    finally:
        root.removeHandler(opvanger)
        root.setLevel(vorig)


@pytest.fixture
async def twee(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Federatie]:
    fed = await knooppunten.maak(tmp_path, nats_server.url, n=2, t=2)
    async with knooppunten.draaiend(fed) as f:
        yield f


def een(docs: list[dict[str, Any]], msg: str, **velden: object) -> dict[str, Any]:
    gevonden = [d for d in docs if d["msg"] == msg and all(d.get(k) == v for k, v in velden.items())]
    assert len(gevonden) == 1, f"expected one '{msg}' line with {velden}, got {len(gevonden)}"
    return gevonden[0]


async def test_one_trace_id_from_the_rpc_to_the_treffer_in_the_other_region(
    twee: Federatie, logs: Opvanger
) -> None:
    wvv, arnhem = twee["wvv"], twee["arnhem"]
    persoon = betrokkene(
        bsn=BSN_B, voornamen=VOORNAMEN, voorvoegsels="", achternaam=ACHTERNAAM, geboren=GEBOREN
    )
    ca = await wvv.aanmelden(aanmelding(persoon))
    await twee.rustig()

    # The caller (a case system) starts the trace; the node continues it.
    trace = TraceContext.new()
    cb = (
        await arnhem.stub.Aanmelden(
            aanmelding(persoon),
            metadata=(("authorization", f"Bearer {token_van(IC)}"), ("traceparent", trace.traceparent)),
        )
    ).casus
    await twee.wacht(lambda: _beide(twee))
    await twee.rustig()

    docs = logs.docs()
    t = trace.trace_id
    stappen = [
        een(docs, "rpc handled", method="Aanmelden", code="OK", trace_id=t),
        een(docs, "case event published", regio="arnhem", casus_id=cb.casus_id, soort="aangemeld"),
        een(docs, "casus indexed", regio="arnhem", casus_id=cb.casus_id),
        een(docs, "signal published", regio="arnhem", casus_id=cb.casus_id, soort="actief"),
        een(docs, "match found", regio="wvv", casus_id=ca.casus_id, andere_regio="arnhem"),
        een(docs, "treffer sent", regio="wvv", andere_regio="arnhem"),
        een(docs, "treffer received", regio="arnhem", casus_id=cb.casus_id, andere_regio="wvv"),
        een(docs, "match found", regio="arnhem", casus_id=cb.casus_id, andere_regio="wvv"),
    ]
    for stap in stappen:
        assert stap["level"] == "info"
        assert stap["trace_id"] == t, stap["msg"]
        assert len(stap["span_id"]) == 16 and stap["span_id"] != trace.span_id
    assert stappen[-2]["match_id"] == stappen[-1]["match_id"]
    assert "bsn" in stappen[4]["sleutel_types"]
    # The key-share holder in the other region audit-logged its evaluation under the same trace.
    assert [r.object_id for r in await wvv.audit("oprf_evaluatie") if r.trace_id == t] == ["arnhem"]
    # The first registration is a trace of its own, and its lines carry it, not this one.
    eerste = een(docs, "signal published", regio="wvv", casus_id=ca.casus_id)
    assert eerste["trace_id"] != t
    # Every line sent while handling a message or a call has a trace.
    for d in docs:
        if d["msg"] in {"rpc handled", "signal published", "signal checked", "match found"}:
            assert len(d.get("trace_id", "")) == 32, d

    alles = "\n".join(logs.regels)
    for geheim in (BSN_B, ACHTERNAAM, VOORNAMEN, "1971-09-23", "19710923", "23-09-1971"):
        assert geheim.lower() not in alles.lower(), geheim


async def _beide(fed: Federatie) -> bool:
    return bool(await fed["wvv"].matches()) and bool(await fed["arnhem"].matches())
