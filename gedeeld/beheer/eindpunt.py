"""The node's plain-HTTP admin endpoint: metrics, health and status for operators and probes.

gRPC may require mTLS, which load balancers' and orchestrators' probes cannot speak, so these
few GET routes are served over plain HTTP/1.1 on their own address (``beheer.listen``; bind it
to loopback or an internal network):

- ``/metrics``: Prometheus text format of the default registry
- ``/healthz``: 200 while the process runs
- ``/readyz``: 200 when ``gereed()`` is true, else 503
- ``/status``: ``await status()`` as JSON (500 with a short error if it fails)

One request per connection (``Connection: close``), a bounded request line and header block,
a read timeout and a cap on open connections: a slow or malformed client gets an error or is
dropped, never takes the server down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger("zvh.beheer")

MAX_REGEL = 4096  # request line and each header line, bytes
MAX_KOPTEKST = 16 * 1024  # the whole header block
MAX_KOPPEN = 64
LEES_TIMEOUT = 5.0
SCHRIJF_TIMEOUT = 10.0
STATUS_TIMEOUT = 10.0
MAX_VERBINDINGEN = 64

TEKST = "text/plain; charset=utf-8"
JSON = "application/json"


class _Fout(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


def splits_adres(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); port 0 picks a free one."""
    host, sep, poort = listen.rpartition(":")
    if not sep or not poort.isdigit() or int(poort) > 65535:
        raise ValueError("beheer listen address must be HOST:PORT")
    host = host.removeprefix("[").removesuffix("]")
    return host or "0.0.0.0", int(poort)  # noqa: S104  (":9464" means every interface, as asked)


class BeheerServer:
    def __init__(
        self,
        listen: str,
        *,
        gereed: Callable[[], bool],
        status: Callable[[], Awaitable[Mapping[str, object]]],
    ) -> None:
        self._host, self._poort = splits_adres(listen)
        self._gereed = gereed
        self._status = status
        self._server: asyncio.Server | None = None
        self._verbindingen: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(
            self._verbinding, self._host, self._poort, limit=MAX_REGEL, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("admin endpoint listening", extra={"host": self._host, "port": self.port})
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for taak in list(self._verbindingen):
            taak.cancel()
        for taak in list(self._verbindingen):
            with contextlib.suppress(BaseException):
                await taak
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None

    # -- one connection --------------------------------------------------------

    async def _verbinding(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        taak = asyncio.current_task()
        # start_server runs each connection in a task of its own; one without a task could not be
        # cancelled by stop(), so it is refused like one over the cap.
        if taak is None or len(self._verbindingen) >= MAX_VERBINDINGEN:
            writer.close()
            return
        self._verbindingen.add(taak)
        try:
            await self._bedien(reader, writer)
            await self._uitlopen(reader, writer)
        except asyncio.CancelledError:
            pass  # stop(): drop the connection
        except Exception as exc:
            # Whatever the client did, this connection ends here and the server goes on.
            log.debug("admin connection failed", extra={"error": type(exc).__name__})
        finally:
            self._verbindingen.discard(taak)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    @staticmethod
    async def _uitlopen(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close, then discard what the client still sends (bounded) before closing: closing
        with unread input makes the kernel send a reset, which can destroy the answer in flight
        (e.g. a 431 for an oversized header)."""
        if writer.can_write_eof():
            writer.write_eof()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1):
                weg = 0
                while weg < 64 * 1024:
                    data = await reader.read(4096)
                    if not data:
                        break
                    weg += len(data)

    async def _bedien(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(LEES_TIMEOUT):
                methode, pad = await self._lees_verzoek(reader)
        except TimeoutError:
            await self._antwoord(writer, HTTPStatus.REQUEST_TIMEOUT, b"request timeout\n", TEKST)
            return
        except _Fout as fout:
            await self._antwoord(writer, fout.status, f"{fout.status.phrase.lower()}\n".encode(), TEKST)
            return
        status, body, soort = await self._route(methode, pad)
        extra = (("Allow", "GET"),) if status is HTTPStatus.METHOD_NOT_ALLOWED else ()
        await self._antwoord(writer, status, body, soort, extra)

    async def _lees_verzoek(self, reader: asyncio.StreamReader) -> tuple[str, str]:
        regel = await self._regel(reader)
        delen = regel.split(" ")
        if len(delen) != 3 or not delen[2].startswith("HTTP/1.") or not delen[1]:
            raise _Fout(HTTPStatus.BAD_REQUEST)
        methode, doel, _ = delen
        totaal, koppen = len(regel), 0
        while True:
            kop = await self._regel(reader)
            if not kop:
                break
            totaal += len(kop)
            koppen += 1
            if totaal > MAX_KOPTEKST or koppen > MAX_KOPPEN:
                raise _Fout(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        # Bodies are not read: no route takes one, and the connection closes after the answer.
        return methode, doel.split("?", 1)[0]

    @staticmethod
    async def _regel(reader: asyncio.StreamReader) -> str:
        try:
            data = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise _Fout(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE) from None
        except asyncio.IncompleteReadError:
            raise _Fout(HTTPStatus.BAD_REQUEST) from None
        try:
            return data.decode("ascii").rstrip("\r\n")
        except UnicodeDecodeError:
            raise _Fout(HTTPStatus.BAD_REQUEST) from None

    async def _route(self, methode: str, pad: str) -> tuple[HTTPStatus, bytes, str]:
        routes = {
            "/metrics": self._metrics,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/status": self._statusroute,
        }
        route = routes.get(pad)
        if route is None:
            return HTTPStatus.NOT_FOUND, b"not found\n", TEKST
        if methode != "GET":
            return HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", TEKST
        return await route()

    async def _metrics(self) -> tuple[HTTPStatus, bytes, str]:
        return HTTPStatus.OK, generate_latest(REGISTRY), CONTENT_TYPE_LATEST

    async def _healthz(self) -> tuple[HTTPStatus, bytes, str]:
        return HTTPStatus.OK, b"ok\n", TEKST

    async def _readyz(self) -> tuple[HTTPStatus, bytes, str]:
        try:
            gereed = bool(self._gereed())
        except Exception as exc:
            log.warning("readiness check failed", extra={"error": type(exc).__name__})
            gereed = False
        if gereed:
            return HTTPStatus.OK, b"ready\n", TEKST
        return HTTPStatus.SERVICE_UNAVAILABLE, b"not ready\n", TEKST

    async def _statusroute(self) -> tuple[HTTPStatus, bytes, str]:
        try:
            async with asyncio.timeout(STATUS_TIMEOUT):
                doc = await self._status()
            body = json.dumps(doc, default=str, ensure_ascii=False, indent=2).encode()
        except Exception as exc:
            # Type only: the message may quote data.
            log.warning("status unavailable", extra={"error": type(exc).__name__})
            return HTTPStatus.INTERNAL_SERVER_ERROR, b'{"error": "status unavailable"}\n', JSON
        return HTTPStatus.OK, body + b"\n", JSON

    @staticmethod
    async def _antwoord(
        writer: asyncio.StreamWriter,
        status: HTTPStatus,
        body: bytes,
        soort: str,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        koppen = [
            f"HTTP/1.1 {status.value} {status.phrase}",
            f"Content-Type: {soort}",
            f"Content-Length: {len(body)}",
            "Cache-Control: no-store",
            "Connection: close",
            *(f"{k}: {v}" for k, v in extra),
        ]
        writer.write(("\r\n".join(koppen) + "\r\n\r\n").encode("ascii") + body)
        async with asyncio.timeout(SCHRIJF_TIMEOUT):
            await writer.drain()
