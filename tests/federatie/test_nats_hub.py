"""The federation hub as a 3-server JetStream cluster with a leaf node per region, started from the
configs that ``zvhctl federatie nats`` writes from a signed registry (real nats-servers, loopback).

Region A is ``wvv``, region B ``arnhem``. Each region's node is a plain nats-py client on its own
leaf node; it reaches the hub's streams through the hub's JetStream domain, and its own REGIO_<R>
stream through the leaf's (its default) domain.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import stat
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from gedeeld.nats import onderwerpen
from gedeeld.nats.hubconfig import (
    HUB_DOMEIN,
    HubServer,
    antwoord_inbox,
    cluster_config,
    hub_permissies,
    inbox_prefix,
    stroom,
)
from gedeeld.nats.jetstream import zorg_voor_stroom
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import bevestig
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.cli import natsconfig
from tests.conftest import begrensd
from tests.federatie.opzet import maak_federatie

A, B = "wvv", "arnhem"
T = TypeVar("T")


def vrije_poorten(n: int) -> list[int]:
    """n distinct free loopback ports (held open together, so no duplicates)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


async def monitor(poort: int, pad: str) -> dict[str, Any]:
    def haal() -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", poort, timeout=2)
        try:
            conn.request("GET", pad)
            return dict(json.loads(conn.getresponse().read()))
        finally:
            conn.close()

    return await asyncio.to_thread(haal)


async def tot(voorwaarde: Callable[[], Awaitable[bool]], wat: str, seconden: float = 15) -> None:
    """Poll until ``voorwaarde`` holds; fail naming ``wat`` after ``seconden``."""
    loop = asyncio.get_running_loop()
    einde = loop.time() + seconden
    while loop.time() < einde:
        with contextlib.suppress(OSError, ValueError):
            if await voorwaarde():
                return
        await asyncio.sleep(0.05)
    pytest.fail(f"{wat}: not within {seconden}s")


async def opnieuw(poging: Callable[[], Awaitable[T]], wat: str, seconden: float = 20) -> T:
    """Retry a NATS operation that fails while the cluster settles (leader election, reconnect)."""
    loop = asyncio.get_running_loop()
    einde = loop.time() + seconden
    while True:
        try:
            return await poging()
        except (nats.errors.Error, nats.js.errors.Error, TimeoutError):
            if loop.time() > einde:
                raise AssertionError(f"{wat}: still failing after {seconden}s") from None
            await asyncio.sleep(0.1)


async def tot_ontvangen(sub: Subscription, publiceer: Callable[[], Awaitable[None]], wat: str) -> Msg:
    """Publish until ``sub`` receives it: a new subscription's interest spreads through the leaf and
    the hub's routes asynchronously, and a message published before it arrives is not delivered."""
    loop = asyncio.get_running_loop()
    einde = loop.time() + 10
    while loop.time() < einde:
        await publiceer()
        with contextlib.suppress(nats.errors.TimeoutError):
            return await sub.next_msg(timeout=0.2)
    pytest.fail(f"{wat}: not received within 10s")


# A delivery can be lost while a new inbox's interest is still spreading over the leaf and the
# routes; with a short ack wait it comes again soon, for a retried fetch. Only the hub's operators
# can change a consumer (beheer, as here); the regions bind to what ``nats-stromen`` made.
KORT_ACK = 1.0


async def kort(beheer: Client) -> None:
    js = beheer.jetstream()
    for r in (A, B):
        for c in onderwerpen.consumenten(r):
            config = c.config()
            config.ack_wait = KORT_ACK
            await opnieuw(partial(js.add_consumer, c.stroom, config), f"consumer {c.stroom}/{c.durable}")


async def een(sub: JetStreamContext.PullSubscription, wat: str) -> Msg:
    [msg] = await opnieuw(partial(sub.fetch, 1, timeout=1), wat)
    return msg


async def ruim_op(clients: list[Client], servers: list[NatsServer]) -> None:
    """Close the clients, then stop the servers; every step bounded, so one stuck cannot hang the run."""
    for c in clients:
        await begrensd("nats client close", c.close(), 5)
    for s in servers:
        await begrensd("nats-server stop", s.stop())


@dataclass
class Opzet:
    uit: Path
    hub: list[HubServer]
    hubs: list[NatsServer]
    leaves: dict[str, NatsServer]
    credentials: dict[str, dict[str, str]]
    beheer_wachtwoord: str
    clients: list[Client] = field(default_factory=list)
    fouten: dict[str, list[Exception]] = field(default_factory=dict)

    async def node(self, regio: str) -> Client:
        """The region's node, connected to its own leaf node (the only NATS it knows)."""
        fouten = self.fouten.setdefault(regio, [])

        async def fout(e: Exception) -> None:
            fouten.append(e)

        nc = await nats.connect(
            self.leaves[regio].url,
            user=self.credentials[regio]["node_gebruiker"],
            password=self.credentials[regio]["node_wachtwoord"],
            inbox_prefix=inbox_prefix(regio),
            error_cb=fout,
        )
        self.clients.append(nc)
        return nc

    async def beheer(self) -> Client:
        nc = await nats.connect(
            servers=[s.url for s in self.hubs], user="beheer", password=self.beheer_wachtwoord
        )
        self.clients.append(nc)
        return nc

    async def hub_client(self, regio: str, fouten: list[Exception]) -> Client:
        """A region's hub user connecting straight to a hub server (not through its leaf)."""

        async def fout(e: Exception) -> None:
            fouten.append(e)

        nc = await nats.connect(
            self.hubs[0].url,
            user=regio,
            password=self.credentials[regio]["hub_wachtwoord"],
            inbox_prefix=inbox_prefix(regio),
            error_cb=fout,
        )
        self.clients.append(nc)
        return nc


def registry(tmp: Path) -> tuple[Path, str]:
    fed = maak_federatie(2, 2)
    pad = tmp / "federatie.reg"
    pad.write_bytes(fed.data)
    return pad, fed.beheerder.publiek.hex()


def genereer(tmp: Path, reg: Path, beheerder: str, hub: list[HubServer], *extra: str) -> int:
    return natsconfig.main(
        [
            "nats",
            "--register",
            str(reg),
            "--beheerder",
            beheerder,
            "--uit",
            str(tmp / "nats"),
            *(a for s in hub for a in ("--hub", f"{s.host}:{s.client}:{s.cluster}:{s.leafnode}:{s.monitor}")),
            "--hub-luister",
            "127.0.0.1",
            "--hub-data",
            str(tmp / "hubdata"),
            "--leaf-data",
            str(tmp / "leafdata"),
            *extra,
        ]
    )


async def cluster_en_leaves(hub: list[HubServer], leaves: set[str]) -> bool:
    """The hub cluster has formed (one JetStream meta leader that sees both other servers as
    current) and exactly the leaf nodes named ``leaves`` are connected to it."""
    jsz = [await monitor(s.monitor, "/jsz") for s in hub]
    leafz = [await monitor(s.monitor, "/leafz") for s in hub]
    namen = {ln["name"] for lz in leafz for ln in lz.get("leafs", [])}
    leider = {j.get("meta_cluster", {}).get("leader") for j in jsz}
    if len(leider) != 1 or None in leider or namen != leaves:
        return False
    # The meta leader sees both other servers as current (else: "no suitable peers").
    [naam] = leider  # zvh-hub-<n> is hub[n - 1]
    meta = jsz[int(str(naam).rsplit("-", 1)[1]) - 1]["meta_cluster"]
    return len(meta.get("replicas", [])) == 2 and all(r.get("current") for r in meta["replicas"])


def servers(tmp: Path, uit: Path, hub: list[HubServer]) -> tuple[list[NatsServer], dict[str, NatsServer]]:
    """The three hub servers and the two leaves (A, B), from the configs ``genereer`` wrote to ``uit``."""
    hubs = [
        NatsServer(tmp / f"hub-{i + 1}", config=uit / "hub" / f"hub-{i + 1}.conf", port=s.client)
        for i, s in enumerate(hub)
    ]
    return hubs, {r: NatsServer(tmp / f"leaf-{r}", config=uit / r / "leaf.conf") for r in (A, B)}


async def start_cluster(
    hub: list[HubServer], hubs: list[NatsServer], leaves: dict[str, NatsServer], wat: str
) -> None:
    """Start the hub servers, then the leaves; wait (bounded) until the cluster formed and both
    leaves are connected (``wat`` names that in a failure)."""
    gestart = asyncio.get_running_loop().time()
    await asyncio.gather(*(s.start() for s in hubs))
    await asyncio.gather(*(s.start() for s in leaves.values()))
    await tot(partial(cluster_en_leaves, hub, {f"zvh-leaf-{r}" for r in leaves}), wat)
    # Routes refused while the other servers were still starting are retried after nats-server's
    # one-second route connect delay, and the duplicates closed; let that pass before the tests.
    await asyncio.sleep(max(0.0, gestart + 1.5 - asyncio.get_running_loop().time()))


@pytest.fixture
async def opzet(tmp_path: Path) -> AsyncIterator[Opzet]:
    reg, beheerder = registry(tmp_path)
    p = vrije_poorten(12)
    hub = [HubServer("127.0.0.1", *p[4 * i : 4 * i + 4]) for i in range(3)]
    assert genereer(tmp_path, reg, beheerder, hub) == 0
    uit = tmp_path / "nats"
    credentials = {r: tomllib.loads((uit / r / "credentials.toml").read_text()) for r in (A, B)}
    beheer_wachtwoord = tomllib.loads((uit / "hub" / "credentials.toml").read_text())["beheer_wachtwoord"]
    hubs, leaves = servers(tmp_path, uit, hub)
    o = Opzet(uit, hub, hubs, leaves, credentials, beheer_wachtwoord)
    try:
        await start_cluster(
            hub, hubs, leaves, "hub cluster formed (JetStream meta leader) and both leaves connected"
        )
        argv = ["nats-stromen", "--register", str(reg), "--beheerder", beheerder, "--uit", str(uit)]
        assert await asyncio.to_thread(natsconfig.main, [*argv, "--server", hubs[0].url]) == 0
        await kort(await o.beheer())
        for r in (A, B):  # the hub's JetStream is reachable from each leaf (interest has propagated)
            js = (await o.node(r)).jetstream(domain=HUB_DOMEIN, timeout=1)
            await opnieuw(partial(js.stream_info, "SIGNALEN"), f"SIGNALEN seen from the leaf of {r}")
        yield o
    finally:
        await ruim_op(o.clients, [*leaves.values(), *hubs])


async def test_a_signal_from_a_leaf_reaches_the_other_region_through_the_hub_stream(opzet: Opzet) -> None:
    a, b = await opzet.node(A), await opzet.node(B)
    a_hub, b_hub = a.jetstream(domain=HUB_DOMEIN), b.jetstream(domain=HUB_DOMEIN)

    # Retried while the hub's interest in A's own signal subject (an import) reaches A's leaf.
    ack = await opnieuw(
        partial(a_hub.publish, f"zvh.signaal.{A}", b"signaal", headers={"Nats-Msg-Id": "s-1"}), "publish"
    )
    assert (ack.stream, ack.domain) == ("SIGNALEN", HUB_DOMEIN)
    sub = await b_hub.pull_subscribe_bind(B, "SIGNALEN")  # made by the hub's operators
    msg = await een(sub, "the signal from B's durable consumer")
    assert (msg.subject, msg.data) == (f"zvh.signaal.{A}", b"signaal")
    await msg.ack_sync(timeout=5)
    assert (await b_hub.consumer_info("SIGNALEN", B)).num_ack_pending == 0

    # A treffer for B, sent as A, goes into B's own inbound stream, which B reads with its consumer.
    await opnieuw(partial(a_hub.publish, onderwerpen.treffer(B, A), b"treffer"), "publish treffer")
    treffers = await b_hub.pull_subscribe_bind(B, stroom("treffer", B))
    t = await een(treffers, "the treffer from B's durable consumer")
    assert (t.subject, t.data) == (onderwerpen.treffer(B, A), b"treffer")
    await t.ack()
    # A fetch of several is answered with several (the consumer API's export streams its
    # responses; else a node catching up would read one message per fetch timeout).
    for i in range(3):
        await a_hub.publish(onderwerpen.treffer(B, A), f"t{i}".encode())
    assert [m.data for m in await treffers.fetch(3, timeout=5)] == [b"t0", b"t1", b"t2"]
    # The replicas are spread over the hub cluster.
    info = await (await opzet.beheer()).jetstream().stream_info("SIGNALEN")
    assert (
        info.config.num_replicas == 3 and info.cluster is not None and len(info.cluster.replicas or []) == 2
    )
    assert opzet.fouten[A] == opzet.fouten[B] == []


async def test_requests_between_leaves_are_answered_in_the_inbox_meant_for_the_responder(
    opzet: Opzet,
) -> None:
    a, b = await opzet.node(A), await opzet.node(B)

    async def antwoord(msg: Msg) -> None:
        await msg.respond(b"evaluatie")

    await b.subscribe(f"zvh.oprf.{B}", cb=antwoord)
    await bevestig(b)
    inbox = f"{antwoord_inbox(A, B)}.{a.new_inbox().rsplit('.', 1)[1]}"
    antwoorden = await a.subscribe(inbox)
    await bevestig(a)

    async def vraag() -> Msg:
        await a.publish(f"zvh.oprf.{B}", b"verzoek", reply=inbox)
        msg = await antwoorden.next_msg(timeout=1)
        if msg.headers and msg.headers.get("Status") == "503":  # B's interest not on A's leaf yet
            raise nats.errors.NoRespondersError
        return msg

    # Retried only while B's subscription propagates through the hub to A's leaf.
    assert (await opnieuw(vraag, "an answer from B's leaf", 10)).data == b"evaluatie"


async def test_region_b_cannot_publish_as_a_nor_read_what_is_for_a(opzet: Opzet) -> None:
    a, b = await opzet.node(A), await opzet.node(B)
    a_hub, b_hub = a.jetstream(domain=HUB_DOMEIN, timeout=1), b.jetstream(domain=HUB_DOMEIN, timeout=1)
    beheer = (await opzet.beheer()).jetstream()
    # B can send a treffer to A as itself (so its account's imports have reached its leaf) ...
    await opnieuw(partial(b_hub.publish, onderwerpen.treffer(A, B), b"echt"), "B's own treffer")

    # ... but nothing under A's code: no signal as A, no treffer or overleg as A (to anyone).
    for vervalst in (
        onderwerpen.signaal(A),
        onderwerpen.treffer(B, A),
        onderwerpen.treffer(A, A),
        onderwerpen.overleg(B, A),
    ):
        await b.publish(vervalst, b"vervalst")  # a plain publish vanishes ...
        with pytest.raises((nats.js.errors.NoStreamResponseError, nats.errors.TimeoutError)):
            await b_hub.publish(vervalst, b"vervalst")  # ... and no stream answers B
    await opnieuw(partial(a_hub.publish, onderwerpen.signaal(A), b"echt"), "A's own signal")
    assert (await beheer.stream_info("SIGNALEN")).state.messages == 1
    assert (await beheer.stream_info(stroom("treffer", A))).state.messages == 1
    assert (await beheer.stream_info(stroom("treffer", B))).state.messages == 0

    # B reaches no consumer but its own: it cannot fetch A's, look at it, create, change or delete
    # one (a push consumer delivering into A's API subjects was the attack), nor read messages
    # directly.
    met_fout = (nats.js.errors.Error, nats.errors.NoRespondersError, nats.errors.TimeoutError)
    with pytest.raises(met_fout):
        await (await b_hub.pull_subscribe_bind(A, stroom("treffer", A))).fetch(1, timeout=1)
    with pytest.raises(met_fout):
        await b_hub.consumer_info("SIGNALEN", A)
    for durable, deliver in ((B, None), ("sluiper", f"$JS.API.CONSUMER.MSG.NEXT.SIGNALEN.{A}")):
        with pytest.raises(met_fout):
            await b_hub.add_consumer(
                "SIGNALEN", ConsumerConfig(durable_name=durable, deliver_subject=deliver, ack_wait=5)
            )
    with pytest.raises(met_fout):
        await b_hub.delete_consumer("SIGNALEN", A)
    with pytest.raises(met_fout):
        await b_hub.get_msg(stroom("treffer", A), 1)
    assert {c.name for c in await beheer.consumers_info("SIGNALEN")} == {A, B}
    assert (await beheer.consumer_info("SIGNALEN", B)).config.ack_wait == KORT_ACK  # unchanged

    # Nor can B acknowledge A's signals for A (the ack subject is no secret to a region on the path).
    a_sub = await a_hub.pull_subscribe_bind(A, "SIGNALEN")
    msg = await een(a_sub, "A's signal")
    assert msg.reply
    await b.publish(msg.reply, b"+ACK")
    await bevestig(b)
    await asyncio.sleep(0.3)
    assert (await beheer.consumer_info("SIGNALEN", A)).num_ack_pending == 1


async def test_region_local_events_stay_on_the_leaf(opzet: Opzet) -> None:
    a, b = await opzet.node(A), await opzet.node(B)
    beheer = await opzet.beheer()
    await zorg_voor_stroom(
        a.jetstream(), onderwerpen.regiostroom_config(A, timedelta(days=7))
    )  # as the node's casusregister does
    gezien: dict[str, list[tuple[str, bytes]]] = {"hub": [], "B": []}

    def waarnemer(waar: str) -> Callable[[Msg], Awaitable[None]]:
        async def cb(msg: Msg) -> None:
            gezien[waar].append((msg.subject, msg.data))

        return cb

    await beheer.subscribe(">", cb=waarnemer("hub"))
    await b.subscribe(">", cb=waarnemer("B"))

    async def overal(data: bytes) -> bool:
        return (f"zvh.signaal.{A}", data) in gezien["hub"]

    async def controle(data: bytes) -> None:
        """A signal from A's node, until the hub (account FED, where it lands) has seen it."""

        async def gezien_of_opnieuw() -> bool:
            if not await overal(data):
                await a.publish(f"zvh.signaal.{A}", data)
                await asyncio.sleep(0.05)
            return await overal(data)

        await tot(gezien_of_opnieuw, f"signal {data!r} on the hub", 10)

    await controle(b"voor")  # every path from A's leaf to both subscribers is open now
    ack = await a.jetstream().publish(f"regio.{A}.casus.aangemeld", b"ruwe gebeurtenis")
    assert (ack.stream, ack.domain) == (onderwerpen.regiostroom(A), A)
    # Sent after it on the same connection: had the case event crossed, it would have come first.
    await controle(b"na")
    assert not [s for s, _ in gezien["hub"] + gezien["B"] if s.startswith("regio.")]
    # B's leaf sees nothing of A's as plain messages at all: signals reach B through its consumer.
    assert not [s for s, _ in gezien["B"] if s.startswith("zvh.")]
    assert (await a.jetstream().stream_info(onderwerpen.regiostroom(A))).state.messages == 1
    # The hub has no such stream, and cannot reach the leaf's JetStream API (domain A) either.
    with pytest.raises(NotFoundError):
        await beheer.jetstream().stream_info(onderwerpen.regiostroom(A))
    with pytest.raises((nats.errors.NoRespondersError, nats.errors.TimeoutError)):
        await beheer.jetstream(domain=A, timeout=1).stream_info(onderwerpen.regiostroom(A))
    # The hub itself refuses region-local subjects from the region's user, leaf or not.
    fouten: list[Exception] = []
    rechtstreeks = await opzet.hub_client(A, fouten)
    await rechtstreeks.publish(f"regio.{A}.casus.aangemeld", b"ruwe gebeurtenis")
    await bevestig(rechtstreeks)

    async def geweigerd() -> bool:
        return any("permissions violation" in str(e).lower() for e in fouten)

    await tot(geweigerd, "a permissions violation for regio.* on the hub", 5)


async def test_publishing_and_consuming_survive_the_loss_of_one_hub_server(opzet: Opzet) -> None:
    a, b = await opzet.node(A), await opzet.node(B)
    a_hub, b_hub = a.jetstream(domain=HUB_DOMEIN, timeout=2), b.jetstream(domain=HUB_DOMEIN, timeout=2)
    beheer = (await opzet.beheer()).jetstream()
    await opnieuw(partial(a_hub.publish, f"zvh.signaal.{A}", b"voor"), "publish")
    sub = await b_hub.pull_subscribe_bind(B, "SIGNALEN")
    m = await een(sub, "the first signal")
    await m.ack_sync(timeout=5)

    cluster = (await beheer.stream_info("SIGNALEN")).cluster
    assert cluster is not None
    leider = cluster.leader
    assert leider is not None
    await opzet.hubs[int(leider.rsplit("-", 1)[1]) - 1].kill()  # the worst one: the stream's leader

    ack = await opnieuw(
        lambda: a_hub.publish(f"zvh.signaal.{A}", b"na", headers={"Nats-Msg-Id": "na"}), "publish"
    )
    assert ack.seq == 2

    m = await een(sub, "B's durable consumer after the loss of the leader")
    assert m.data == b"na"
    await opnieuw(lambda: m.ack_sync(timeout=1), "ack")
    info = await opnieuw(lambda: beheer.stream_info("SIGNALEN"), "stream info")
    assert info.cluster is not None and info.cluster.leader not in (None, leider)


async def test_a_leaf_with_a_tampered_password_is_refused(opzet: Opzet, tmp_path: Path) -> None:
    echt = (opzet.uit / A / "leaf.conf").read_text()
    wachtwoord = opzet.credentials[A]["hub_wachtwoord"]
    assert echt.count(wachtwoord) == 3  # once per hub server
    vervalst = tmp_path / "vervalst.conf"
    vervalst.write_text(
        echt.replace(wachtwoord, "geraden")
        .replace(f'"zvh-leaf-{A}"', '"zvh-leaf-vervalst"')
        # its own JetStream store, so the two leaves do not share a directory
        .replace(str(tmp_path / "leafdata" / A), str(tmp_path / "leafdata" / "vervalst"))
    )
    server = NatsServer(tmp_path / "leaf-vervalst", config=vervalst)
    await server.start()
    try:
        log = tmp_path / "leaf-vervalst" / "nats-server.log"

        async def geweigerd() -> bool:
            return "authorization violation" in log.read_text().lower()

        await tot(geweigerd, "the hub refusing the tampered leaf", 10)
        namen = {
            ln["name"] for s in opzet.hub for ln in (await monitor(s.monitor, "/leafz")).get("leafs", [])
        }
        assert "zvh-leaf-vervalst" not in namen
    finally:
        await begrensd("nats-server stop", server.stop())


def test_zvhctl_refuses_a_tampered_or_foreign_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, beheerder = registry(tmp_path)
    env = F.OndertekendRegister.FromString(reg.read_bytes())
    inhoud = F.Federatieregister.FromString(env.register)
    inhoud.regios[0].code = "indringer"  # a region added after signing
    env.register = inhoud.SerializeToString()
    vervalst = tmp_path / "vervalst.reg"
    vervalst.write_bytes(env.SerializeToString())
    hub = list(natsconfig.STANDAARD_HUB)

    assert genereer(tmp_path, vervalst, beheerder, hub) == 2
    fout = capsys.readouterr().err
    assert fout.count("\n") == 1 and "signature does not verify" in fout
    assert genereer(tmp_path, reg, "00" * 32, hub) == 2
    assert "another beheerder" in capsys.readouterr().err
    assert not (tmp_path / "nats").exists()


def test_generated_files_are_private_and_a_rerun_keeps_the_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, beheerder = registry(tmp_path)
    hub = list(natsconfig.STANDAARD_HUB)
    assert genereer(tmp_path, reg, beheerder, hub) == 0
    uit = tmp_path / "nats"
    bestanden = sorted(p.relative_to(uit).as_posix() for p in uit.rglob("*") if p.is_file())
    assert bestanden == sorted(
        [f"hub/hub-{i}.conf" for i in (1, 2, 3)]
        + ["hub/credentials.toml"]
        + [f"{r}/{n}" for r in (A, B) for n in ("leaf.conf", "credentials.toml")]
    )
    assert all(stat.S_IMODE((uit / p).stat().st_mode) == 0o600 for p in bestanden)
    voor = {p: (uit / p).read_text() for p in bestanden}
    assert genereer(tmp_path, reg, beheerder, hub) == 0
    assert {p: (uit / p).read_text() for p in bestanden} == voor
    assert "wrote 3 hub server configs" in capsys.readouterr().out
    # An even number of hub servers has no JetStream quorum to speak of.
    assert genereer(tmp_path, reg, beheerder, hub[:2]) == 2


def test_hub_permissions_are_the_table_with_the_hub_domain() -> None:
    p = hub_permissies(A)
    pub = p["publish"]["allow"]  # type: ignore[index]
    sub = p["subscribe"]["allow"]  # type: ignore[index]
    assert not [s for s in pub + sub if s.startswith(("regio.", "$JS.API.", "$LDS", "$SYS"))]
    assert not [s for s in pub if "CREATE" in s or "DELETE" in s or "RESET" in s]
    assert f"$JS.{HUB_DOMEIN}.API.CONSUMER.MSG.NEXT.SIGNALEN.{A}" in pub
    assert {f"zvh.signaal.{A}", f"zvh.treffer.*.{A}", f"zvh.overleg.*.{A}"} <= set(pub)
    assert f"_INBOX.*.{A}.>" in pub and f"_INBOX.{A}.>" in sub
    hub = list(natsconfig.STANDAARD_HUB)
    with pytest.raises(ValueError, match="region code"):
        cluster_config(
            0, hub, ["hub"], {"hub": "x"}, store_dir="/x", beheer_wachtwoord="x", route_wachtwoord="x"
        )
