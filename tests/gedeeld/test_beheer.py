"""The plain-HTTP admin endpoint, over a real socket."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from gedeeld.beheer import eindpunt
from gedeeld.beheer.eindpunt import BeheerServer, splits_adres
from gedeeld.beheer.metrics import CONSUMER_ACHTERSTAND

GEHEIM = "999990019 Jansen"


@dataclass
class Toestand:
    gereed: bool = False
    status_fout: bool = False
    status: dict[str, object] = field(default_factory=lambda: {"regio": "wvv", "consumers": 3})

    def is_gereed(self) -> bool:
        return self.gereed

    async def lees_status(self) -> Mapping[str, object]:
        if self.status_fout:
            raise RuntimeError(f"database said: {GEHEIM}")
        return self.status


@dataclass
class Draaiend:
    server: BeheerServer
    port: int
    toestand: Toestand


@pytest.fixture
async def admin() -> AsyncIterator[Draaiend]:
    toestand = Toestand()
    server = BeheerServer("127.0.0.1:0", gereed=toestand.is_gereed, status=toestand.lees_status)
    port = await server.start()
    try:
        yield Draaiend(server, port, toestand)
    finally:
        await asyncio.wait_for(server.stop(), 10)


async def ruw(port: int, data: bytes, *, sluit_schrijven: bool = False) -> bytes:
    """Send raw bytes, read the whole answer (the server closes the connection)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if sluit_schrijven:
            writer.write_eof()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def ontleed(antwoord: bytes) -> tuple[int, dict[str, str], bytes]:
    kop, _, body = antwoord.partition(b"\r\n\r\n")
    regels = kop.decode("ascii").split("\r\n")
    status = int(regels[0].split(" ")[1])
    koppen = {k.lower(): v.strip() for k, _, v in (r.partition(":") for r in regels[1:])}
    assert int(koppen["content-length"]) == len(body)
    return status, koppen, body


async def get(port: int, pad: str, methode: str = "GET") -> tuple[int, dict[str, str], bytes]:
    return ontleed(await ruw(port, f"{methode} {pad} HTTP/1.1\r\nHost: x\r\n\r\n".encode()))


async def test_metrics_in_prometheus_format(admin: Draaiend) -> None:
    CONSUMER_ACHTERSTAND.labels("REGIO_TEST", "beheer-test").set(7)
    status, koppen, body = await get(admin.port, "/metrics")
    assert status == 200
    assert koppen["content-type"] == CONTENT_TYPE_LATEST
    assert koppen["connection"] == "close"
    tekst = body.decode()
    assert "# TYPE zvh_rpc_duration_seconds histogram" in tekst
    assert 'zvh_consumer_lag{durable="beheer-test",stroom="REGIO_TEST"} 7.0' in tekst


async def test_health_and_readiness(admin: Draaiend) -> None:
    assert (await get(admin.port, "/healthz"))[::2] == (200, b"ok\n")
    assert (await get(admin.port, "/readyz"))[0] == 503
    admin.toestand.gereed = True
    assert (await get(admin.port, "/readyz"))[0] == 200
    assert (await get(admin.port, "/readyz?verbose=1"))[0] == 200


async def test_status_as_json_and_a_failing_status_reveals_nothing(
    admin: Draaiend, caplog: pytest.LogCaptureFixture
) -> None:
    status, koppen, body = await get(admin.port, "/status")
    assert status == 200 and koppen["content-type"] == "application/json"
    assert json.loads(body) == {"regio": "wvv", "consumers": 3}

    caplog.set_level(logging.DEBUG)
    admin.toestand.status_fout = True
    status, koppen, body = await get(admin.port, "/status")
    assert status == 500 and koppen["content-type"] == "application/json"
    assert json.loads(body) == {"error": "status unavailable"}
    assert any(getattr(r, "error", None) == "RuntimeError" for r in caplog.records)
    logtekst = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert GEHEIM not in logtekst and GEHEIM.encode() not in body


async def test_unknown_path_and_other_methods(admin: Draaiend) -> None:
    assert (await get(admin.port, "/"))[0] == 404
    assert (await get(admin.port, "/metrics/../etc"))[0] == 404
    for methode in ("POST", "HEAD", "DELETE"):
        status, koppen, _ = await get(admin.port, "/metrics", methode)
        assert status == 405 and koppen["allow"] == "GET"


async def test_bad_clients_get_an_error_and_the_server_goes_on(
    admin: Draaiend, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = admin.port
    assert ontleed(await ruw(p, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 10_000 + b"\r\n\r\n"))[0] == 431
    assert ontleed(await ruw(p, b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n"))[0] == 431
    veel = b"".join(b"X-%d: y\r\n" % i for i in range(200))
    assert ontleed(await ruw(p, b"GET /healthz HTTP/1.1\r\n" + veel + b"\r\n"))[0] == 431
    assert ontleed(await ruw(p, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"))[0] == 400
    assert ontleed(await ruw(p, b"GARBAGE\r\n\r\n"))[0] == 400
    assert ontleed(await ruw(p, b"GET /h\xffz HTTP/1.1\r\n\r\n"))[0] == 400
    # Half a request, then the client stops sending: an error, not a hang.
    assert ontleed(await ruw(p, b"GET /healthz HTTP/1.1\r\nHost", sluit_schrijven=True))[0] == 400
    # A client that connects and goes away at once.
    _, writer = await asyncio.open_connection("127.0.0.1", p)
    writer.close()
    # A client that says nothing is cut off after the read timeout.
    monkeypatch.setattr(eindpunt, "LEES_TIMEOUT", 0.2)
    assert ontleed(await ruw(p, b""))[0] == 408
    # More idle connections than the cap: cut off after the read timeout (plus at most 1 s of
    # waiting for them to close), so a prober gets through again.
    stil = [await asyncio.open_connection("127.0.0.1", p) for _ in range(eindpunt.MAX_VERBINDINGEN + 5)]
    try:
        # The prober gets through once the idle ones are cut off (read timeout, then at most 1 s).
        einde = asyncio.get_running_loop().time() + 15
        while True:
            try:
                status = (await asyncio.wait_for(get(p, "/healthz"), 2))[0]
            except (TimeoutError, OSError, IndexError):  # over the cap: closed without an answer
                status = 0
            if status == 200 or asyncio.get_running_loop().time() > einde:
                break
            await asyncio.sleep(0.1)
        assert status == 200
    finally:
        for _, w in stil:
            w.close()
    assert (await get(p, "/healthz"))[0] == 200


async def test_stop_drops_idle_connections_and_frees_the_port() -> None:
    toestand = Toestand(gereed=True)
    server = BeheerServer("127.0.0.1:0", gereed=toestand.is_gereed, status=toestand.lees_status)
    port = await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\n")  # never finished
    await writer.drain()
    await asyncio.sleep(0.1)
    await asyncio.wait_for(server.stop(), 5)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


def test_listen_addresses() -> None:
    assert splits_adres("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert splits_adres("[::1]:0") == ("::1", 0)
    assert splits_adres(":9464") == ("0.0.0.0", 9464)  # noqa: S104
    for fout in ("9464", "host:", "host:port", "host:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            splits_adres(fout)
