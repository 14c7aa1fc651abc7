"""``bevestig``: after it returns, the server has seen every command sent before it (a stand-in
server on loopback records the order of the client's commands on the wire)."""

from __future__ import annotations

import asyncio

import nats
from nats.aio.msg import Msg

from gedeeld.nats.verbinding import bevestig

INFO = b'INFO {"server_id":"t","version":"2.10.0","proto":1,"headers":true,"max_payload":1048576}\r\n'


async def test_bevestig_sends_its_last_ping_after_a_queued_subscription() -> None:
    volgorde: list[bytes] = []

    async def server(lezer: asyncio.StreamReader, schrijver: asyncio.StreamWriter) -> None:
        try:
            schrijver.write(INFO)
            await schrijver.drain()
            while regel := await lezer.readline():
                volgorde.append(regel.split(b" ")[0].strip())
                if regel.startswith(b"PING"):
                    schrijver.write(b"PONG\r\n")
                    await schrijver.drain()
        finally:
            schrijver.close()
            await schrijver.wait_closed()

    srv = await asyncio.start_server(server, "127.0.0.1", 0)
    poort = srv.sockets[0].getsockname()[1]
    try:
        for _ in range(5):
            volgorde.clear()
            nc = await nats.connect(f"nats://127.0.0.1:{poort}", allow_reconnect=False)

            async def cb(_msg: Msg) -> None:
                return None

            await nc.subscribe("zvh.oprf.wvv", cb=cb)
            await bevestig(nc)
            pings = [i for i, c in enumerate(volgorde) if c == b"PING"]
            assert b"SUB" in volgorde and volgorde.index(b"SUB") < pings[-1], volgorde
            await nc.close()
    finally:
        srv.close()
        await srv.wait_closed()
