"""Graceful shutdown: in-flight calls finish, new ones are refused, health says NOT_SERVING."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2

from gedeeld.zvh.v1 import casus_pb2 as S
from tests import grpc_stubs
from tests.casusregister.test_aanmelden import fout
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import aanmelding

IC = "ic-carla"


async def test_health_serving_for_casusservice(register: RegisterOpLoopback) -> None:
    health = grpc_stubs.health(register.kanaal)
    for naam in ("", "zvh.v1.CasusService"):
        r = await health.Check(health_pb2.HealthCheckRequest(service=naam))
        assert r.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_in_flight_call_finishes_during_stop_and_new_calls_are_refused(
    register: RegisterOpLoopback,
) -> None:
    # Hold the database's write lock so that an Aanmelden is provably in flight.
    await register.db._write_lock.acquire()
    bezig = asyncio.ensure_future(register.stub.Aanmelden(aanmelding(), metadata=register.als(IC)))
    # The lock has no event for "someone waits"; poll its waiter list.
    while not register.db._write_lock._waiters:  # noqa: ASYNC110
        await asyncio.sleep(0.01)

    stoppen = asyncio.ensure_future(register.service.stop(grace=10))
    health = grpc_stubs.health(register.kanaal)
    while True:  # stop() first flips health, then stops accepting calls
        try:
            r = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        except grpc.aio.AioRpcError:
            break
        if r.status == health_pb2.HealthCheckResponse.NOT_SERVING:
            break
        await asyncio.sleep(0.01)
    nieuw = await fout(register.stub.Zoeken(S.ZoekenRequest(), metadata=register.als(IC), timeout=5))
    register.db._write_lock.release()

    resp = await asyncio.wait_for(bezig, 10)
    await asyncio.wait_for(stoppen, 15)
    assert resp.casus.casus_id
    assert nieuw.code() == grpc.StatusCode.UNAVAILABLE
