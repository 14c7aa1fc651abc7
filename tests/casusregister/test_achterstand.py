"""Backpressure: past the bound of the region's own backlog, Aanmelden is refused with
RESOURCE_EXHAUSTED and retry advice; the backlog is a metric; it lifts once the backlog is worked off.

Real parts: the casusregister over gRPC, SQLite, a nats-server with the region stream and a durable
``signalering`` consumer that nobody drains until the test does.
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig
from prometheus_client import REGISTRY

from gedeeld.nats import onderwerpen
from tests.casusregister.test_aanmelden import fout
from tests.conftest import RegisterOpLoopback, begrensd
from tests.voorbeelden import aanmelding

PR = "pr-anna"


async def test_aanmelden_is_refused_past_the_backlog_bound_and_accepted_again(
    register: RegisterOpLoopback, nc: Client
) -> None:
    r = register
    regio = r.cfg.regio
    js = nc.jetstream()
    stroom = onderwerpen.regiostroom(regio)
    await js.add_consumer(stroom, ConsumerConfig(durable_name="signalering", ack_policy=AckPolicy.EXPLICIT))
    meter = r.service.achterstand
    meter.volg_consument(js, stroom, "signalering")
    meter.cache_s = 0.0

    for _ in range(3):
        await r.stub.Aanmelden(aanmelding(), metadata=r.als(PR))
    # Publish what the relay has not yet (JetStream drops a double by its message id), so the
    # three changes are all on the stream, not half-way between outbox and stream.
    await r.service.relay.publiceer_batch()
    assert await r.service.relay.achterstand() == 0
    assert await meter.meet() == 3  # three case events signalering has not handled
    meter.grens = 2
    assert REGISTRY.get_sample_value("zvh_federation_backlog", {"regio": regio}) == 3

    e = await fout(r.stub.Aanmelden(aanmelding(), metadata=r.als(PR)))
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "de federatie loopt achter" in (e.details() or "")
    assert "probeer het over" in (e.details() or "")
    status = next(
        status_pb2.Status.FromString(v)
        for k, v in e.trailing_metadata() or ()
        if k == "grpc-status-details-bin" and isinstance(v, bytes)
    )
    retry = error_details_pb2.RetryInfo()
    assert any(d.Unpack(retry) for d in status.details)
    assert retry.retry_delay.ToMilliseconds() >= 1000

    # signalering catches up: the case events are handled (acknowledged), the bound no longer bites.
    sub = await js.pull_subscribe_bind("signalering", stroom)
    gehad = 0
    while gehad < 3:
        for msg in await sub.fetch(3 - gehad, timeout=5):
            await msg.ack_sync()
            gehad += 1
    await begrensd("unsubscribe", sub.unsubscribe())
    assert await meter.meet() == 0
    antwoord = await r.stub.Aanmelden(aanmelding(), metadata=r.als(PR))
    assert antwoord.casus.casus_id


async def test_bound_zero_never_refuses(register: RegisterOpLoopback) -> None:
    r = register
    r.service.achterstand.grens = 0
    r.service.achterstand.cache_s = 0.0
    for _ in range(3):
        await r.stub.Aanmelden(aanmelding(), metadata=r.als(PR))
    assert await r.service.achterstand.meet() >= 0
