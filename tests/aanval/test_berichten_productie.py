"""The attacks of test_berichten.py against the federation in its production shape
(deploy/operatie.py: three zvh-node processes behind their own TLS leaf nodes on a 3-server hub
with an account per region). The attacker, arnhem, uses only its own material: its leaf with its
node's password and certificate, its signing key, the registry, its own durable consumers.

The nodes are separate processes, so their protections cannot be switched off here: that each of
these tests can see the harm is shown by the ``onbeschermd`` variants of test_berichten.py, which
run the same attacks against the embedded federation. Here: the attacks fail in production, the
refusals show in the node's own /metrics, and real matches still arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from collections.abc import AsyncIterator, Callable

import pytest
from nats.js.errors import NotFoundError
from prometheus_client.parser import text_string_to_metric_families

from gedeeld.nats import onderwerpen
from gedeeld.nats.hubconfig import HUB_DOMEIN
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import casus_pb2_grpc
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.signalering.inkomend import MAX_MATCHES_PER_REFERENTIE
from tests.aanval.aanvaller import Aanvaller
from tests.aanval.conftest import Productie
from tests.deploy.test_operatie import Regio, operatie, wacht_op_match

# Starting the production federation (deploy/operatie.py) takes a minute or more on a loaded
# machine; it is charged to the first test that uses it.
pytestmark = pytest.mark.timeout(600)

A, B, C = "wvv", "arnhem", "haaglanden"


def bsn(n: int) -> str:
    """The n-th nine-digit number from 5000000xx that passes the 11-proef (test data only)."""
    gevonden = 0
    for kandidaat in range(500_000_000, 600_000_000):
        cijfers = [int(c) for c in str(kandidaat)]
        if (sum(w * c for w, c in zip(range(9, 1, -1), cijfers[:8], strict=True)) - cijfers[8]) % 11 == 0:
            if gevonden == n:
                return str(kandidaat)
            gevonden += 1
    raise AssertionError("no BSN")


def metriek(p: Productie, regio: str, naam: str, **labels: str) -> float:
    """A counter's value on ``regio``'s node, from its own /metrics (the beheer port)."""
    poort = p.opzet["poorten"][regio]["beheer"]
    with urllib.request.urlopen(f"http://127.0.0.1:{poort}/metrics", timeout=5) as r:
        tekst = r.read().decode()
    totaal = 0.0
    for familie in text_string_to_metric_families(tekst):
        for s in familie.samples:
            if s.name == naam and all(s.labels.get(k) == v for k, v in labels.items()):
                totaal += s.value
    return totaal


async def tot(voorwaarde: Callable[[], object], seconden: float = 60) -> None:
    async with asyncio.timeout(seconden):
        while not await asyncio.to_thread(voorwaarde):  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # another process's state: nothing to wait on but polling


@contextlib.asynccontextmanager
async def aanvaller(p: Productie, *, eigen_node_gestopt: bool = False) -> AsyncIterator[Aanvaller]:
    """arnhem's material. With ``eigen_node_gestopt``, its own node is stopped meanwhile, so the
    attacker can read SIGNALEN from its own durable consumer (the only way a region reads it)."""
    nc = await p.als(B)
    a = Aanvaller.uit_map(
        B,
        p.map / B / "sleutels",
        p.map / "federatie.reg",
        bytes.fromhex(p.opzet["beheerder"]),
        nc,
        nc.jetstream(domain=HUB_DOMEIN, timeout=5),
    )
    if eigen_node_gestopt:
        assert operatie(p.map, "stop", f"node-{B}").returncode == 0
    try:
        yield a
    finally:
        if eigen_node_gestopt:
            r = operatie(p.map, "start", f"node-{B}")
            assert r.returncode == 0, r.stderr


async def signaal_van(a: Aanvaller, regio: str, seconden: float = 30) -> tuple[bytes, F.Signaal]:
    """The next signal of ``regio`` on the attacker's own consumer (its node is stopped); what it
    read before is handed back (nak) for its node."""
    sub = await a.js.pull_subscribe_bind(durable=B, stream=onderwerpen.SIGNALEN)
    try:
        async with asyncio.timeout(seconden):
            while True:
                try:
                    [msg] = await sub.fetch(1, timeout=2)
                except TimeoutError:
                    continue
                await msg.nak()
                if msg.subject == onderwerpen.signaal(regio):
                    return msg.data, F.Signaal.FromString(F.Ondertekend.FromString(msg.data).inhoud)
    finally:
        with contextlib.suppress(NotFoundError, Exception):
            await sub.unsubscribe()


async def test_replayed_signals_and_fabricated_or_malformed_treffers_are_refused_in_production(
    productie: Productie,
) -> None:
    p = productie
    wvv, haaglanden = p.regio(A), p.regio(C)
    tweede = bsn(1)
    await asyncio.to_thread(haaglanden.aanmelden, tweede, "Appel")  # for a real treffer later
    geweigerd = "zvh_federation_rejected_total"
    voor = {
        r: metriek(p, A, geweigerd, soort=s, afzender=B, reden=r)
        for s, r in [
            ("signaal", "verkeerde_herkomst"),
            ("treffer", "te_veel_matches"),
            ("treffer", "ongeldige_tekst"),
            ("treffer", "onbekende_referentie"),
        ]
    }
    async with aanvaller(p, eigen_node_gestopt=True) as a:
        casus = await asyncio.to_thread(wvv.aanmelden, bsn(0), "Veld")  # arnhem never registers it
        data, signaal = await signaal_van(a, A)
        # 4: wvv's own signed signal, re-routed onto arnhem's subject.
        await a.signaal(data)
        # 5: fabricated "zeker" treffers for wvv's person, malformed ones, one for nobody.
        for _ in range(MAX_MATCHES_PER_REFERENTIE + 3):
            await a.stuur_treffer(A, a.treffer(A, signaal.referentie))
        for contact in ("x" * 5000, "procesregie\x00@arnhem", "procesregie@\u202eevlisnegeer"):
            await a.stuur_treffer(A, a.treffer(A, signaal.referentie, contact=contact))
        await a.stuur_treffer(A, a.treffer(A, "0" * 32))
        # A real treffer from a third region, queued behind all of it on wvv's TREFFER stream.
        echt = await asyncio.to_thread(wvv.aanmelden, tweede, "Appel")
        match = await asyncio.to_thread(wacht_op_match, wvv, echt, 60)
        assert match.andere_regio == C

    def geteld() -> bool:
        return all(
            metriek(p, A, geweigerd, afzender=B, reden=r) - voor[r] >= n
            for r, n in [
                ("verkeerde_herkomst", 1),
                ("te_veel_matches", 3),
                ("ongeldige_tekst", 3),
                ("onbekende_referentie", 1),
            ]
        )

    await tot(geteld)
    matches = [m for m in await asyncio.to_thread(wvv.matches) if m.casus_id == casus]
    assert {m.andere_regio for m in matches} == {B}  # never wvv itself
    assert len(matches) == MAX_MATCHES_PER_REFERENTIE


def afsluiten(regio: Regio, casus_id: str) -> None:
    stub = casus_pb2_grpc.CasusServiceStub(regio.kanaal)
    req = S.AfsluitenRequest(casus_id=casus_id, reden=S.AFSLUIT_REDEN_NIET_OPGEPAKT)
    stub.Afsluiten(req, metadata=regio.als("nm-dirk"), timeout=10)


async def test_an_old_active_signal_replayed_after_its_withdrawal_makes_no_match_in_production(
    productie: Productie,
) -> None:
    p = productie
    arnhem, wvv = p.regio(B), p.regio(A)
    persoon = (bsn(3), "Beek")
    verouderd = {"soort": "signaal", "afzender": B, "reden": "verouderd"}
    voor = metriek(p, A, "zvh_federation_rejected_total", **verouderd)
    async with aanvaller(p) as a:
        # arnhem's own signals, as its node publishes them through its leaf.
        eigen = await a.nc.subscribe(onderwerpen.signaal(B))
        await a.nc.flush()
        casus = await asyncio.to_thread(arnhem.aanmelden, *persoon)
        oud = await eigen.next_msg(timeout=30)
        await asyncio.to_thread(afsluiten, arnhem, casus)
        intrekking = F.Signaal.FromString(
            F.Ondertekend.FromString((await eigen.next_msg(timeout=30)).data).inhoud
        )
        assert intrekking.soort == F.SIGNAAL_SOORT_INGETROKKEN
        # The same person in wvv afterwards: arnhem's index no longer holds it, so no match ...
        bij_wvv = await asyncio.to_thread(wvv.aanmelden, *persoon)
        # ... unless the old active signal, replayed, were taken for the current state.
        await a.signaal(oud.data)

        def geteld() -> bool:
            return metriek(p, A, "zvh_federation_rejected_total", **verouderd) - voor >= 1

        await tot(geteld)
    assert [m for m in await asyncio.to_thread(wvv.matches) if m.casus_id == bij_wvv] == []


async def test_a_flood_of_valid_junk_signals_is_counted_and_a_real_match_still_arrives(
    productie: Productie,
) -> None:
    p = productie
    floed = 1000
    voor = metriek(p, A, "zvh_signals_received_total", soort="actief") + metriek(
        p, A, "zvh_federation_rejected_total", soort="signaal", afzender=B, reden="limiet"
    )
    async with aanvaller(p) as a:
        for _ in range(floed):
            await a.nc.publish(onderwerpen.signaal(B), a.rommel(a.federatie.epoch))
        await a.nc.flush()
    begin = time.monotonic()
    wvv, haaglanden = p.regio(A), p.regio(C)
    casus = await asyncio.to_thread(wvv.aanmelden, bsn(2), "Zand")
    await asyncio.to_thread(haaglanden.aanmelden, bsn(2), "Zand")
    match = await asyncio.to_thread(wacht_op_match, wvv, casus, 120)
    duur = time.monotonic() - begin
    assert match.andere_regio == C
    print(f"real match behind a flood of {floed} junk signals: {duur:.1f} s")  # a figure, not a test

    def geteld() -> bool:
        na = metriek(p, A, "zvh_signals_received_total", soort="actief") + metriek(
            p, A, "zvh_federation_rejected_total", soort="signaal", afzender=B, reden="limiet"
        )
        return na - voor >= floed

    await tot(geteld, 120)
