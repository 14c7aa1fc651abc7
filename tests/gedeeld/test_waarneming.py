"""Observability plumbing: trace ids in JSON logs, the recent-errors buffer, consumer lag."""

from __future__ import annotations

import asyncio
import json
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import StreamConfig
from prometheus_client import REGISTRY

from gedeeld.beheer import logregels
from gedeeld.beheer.logregels import JsonFormatter, RecenteFouten
from gedeeld.beheer.tracing import HEADER, TraceContext, huidig, in_trace, voor_bericht
from gedeeld.nats.jetstream import StroomLezer, Uitkomst, zorg_voor_stroom


def _record(msg: str, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("zvh.test", level, __file__, 1, msg, None, None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_the_current_trace_only_inside_it() -> None:
    f = JsonFormatter()
    trace = TraceContext.new()
    assert "trace_id" not in json.loads(f.format(_record("buiten")))
    with in_trace(trace):
        doc = json.loads(f.format(_record("binnen", casus_id="c1")))
        with in_trace(trace.child()) as kind:
            assert kind is not None
            assert json.loads(f.format(_record("kind")))["span_id"] == kind.span_id
        assert huidig() is trace
    assert huidig() is None
    assert (doc["trace_id"], doc["span_id"], doc["casus_id"]) == (trace.trace_id, trace.span_id, "c1")
    # An explicit trace_id in ``extra`` wins over the context.
    with in_trace(trace):
        assert json.loads(f.format(_record("x", trace_id="f" * 32)))["trace_id"] == "f" * 32


async def test_each_task_has_its_own_trace() -> None:
    gezien: dict[str, str | None] = {}

    async def taak(naam: str) -> None:
        with in_trace(TraceContext.new()) as t:
            assert t is not None
            await asyncio.sleep(0.01)
            huidige = huidig()
            gezien[naam] = huidige.trace_id if huidige is not None and huidige is t else None

    await asyncio.gather(taak("a"), taak("b"))
    assert gezien["a"] and gezien["b"] and gezien["a"] != gezien["b"]


def test_recent_errors_keep_the_last_warnings_without_exception_text() -> None:
    h = RecenteFouten(aantal=3)
    log = logging.getLogger("zvh.test.recent")
    log.addHandler(h)
    log.propagate = False
    try:
        log.info("not kept")
        for i in range(5):
            log.warning("consumer restarting", extra={"volgnummer": i, "lijst": [1, 2], "lang": "x" * 500})
        try:
            raise ValueError("999990019 Jansen")
        except ValueError:
            with in_trace(TraceContext.new()):
                log.exception("rpc failed", extra={"method": "Aanmelden"})
    finally:
        log.removeHandler(h)
        log.propagate = True
    fouten = h.lees()
    assert [d.get("volgnummer") for d in fouten] == [3, 4, None]
    assert fouten[0]["level"] == "warning" and fouten[0]["logger"] == "zvh.test.recent"
    assert "lijst" not in fouten[0] and len(fouten[0]["lang"]) == 200
    laatste = fouten[-1]
    assert laatste["msg"] == "rpc failed" and laatste["level"] == "error"
    assert laatste["exc_type"] == "ValueError" and len(laatste["trace_id"]) == 32
    assert "Jansen" not in json.dumps(fouten)
    h.wis()
    assert h.lees() == []


def test_configure_installs_the_buffer_once() -> None:
    root = logging.getLogger()
    voor, niveau = list(root.handlers), root.level
    try:
        logregels.configure("INFO")
        logregels.configure("WARNING")
        assert root.handlers.count(logregels.RECENTE_FOUTEN) == 1
        assert sum(isinstance(h.formatter, JsonFormatter) for h in root.handlers) >= 1
        logging.getLogger("zvh.test.configure").error("configured", extra={"stap": 1})
        assert logregels.recente_fouten()[-1]["stap"] == 1
    finally:
        for h in list(root.handlers):
            if h not in voor:
                root.removeHandler(h)
        root.setLevel(niveau)
        logregels.RECENTE_FOUTEN.wis()


async def test_consumer_sets_lag_and_the_trace_of_each_message(nc: Client) -> None:
    js = nc.jetstream()
    await zorg_voor_stroom(js, StreamConfig(name="WAARNEMING", subjects=["waarneming.>"]))
    traces = [TraceContext.new() for _ in range(6)]
    for t in traces:
        await js.publish("waarneming.x", b"m", headers={HEADER: t.traceparent})
    labels = {"stroom": "WAARNEMING", "durable": "lezer"}
    gezien: list[tuple[TraceContext | None, float | None]] = []

    async def handler(msg: Msg) -> Uitkomst:
        # The consumer's span is the message's handling span; the handler's own lookup agrees.
        assert voor_bericht(msg.headers) is huidig()
        gezien.append((huidig(), REGISTRY.get_sample_value("zvh_consumer_lag", labels)))
        await asyncio.sleep(0.02)
        return Uitkomst.KLAAR

    lezer = StroomLezer(js, stroom="WAARNEMING", subject="waarneming.>", durable="lezer", handler=handler)
    taak = asyncio.create_task(lezer.draai())
    try:
        async with asyncio.timeout(20):
            # Polling is the point: the gauge and counter have no event to wait on.
            while lezer.verwerkt < len(traces):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            # Quiet: the next fetch times out and the gauge falls to zero.
            while REGISTRY.get_sample_value("zvh_consumer_lag", labels) != 0:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    finally:
        taak.cancel()
        await asyncio.gather(taak, return_exceptions=True)
    # The first fetch takes one message, leaving five pending.
    assert gezien[0][1] == len(traces) - 1
    for (trace, _), verzonden in zip(gezien, traces, strict=True):
        assert trace is not None
        assert (trace.trace_id, trace.parent_span_id) == (verzonden.trace_id, verzonden.span_id)
    assert huidig() is None
