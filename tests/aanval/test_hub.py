"""Attacks on the hub by one dishonest region (arnhem), against the production federation: its
own consumer settings used against another region's consumer, another leaf's loop-detection
subject, sending under another region's code, and a flood. Each attack fails or is bounded, and
wvv still gets its match. ``test_hub_schade.py`` shows the same attacks doing harm on a hub
without this isolation, so these tests are not passing on nothing.
"""

from __future__ import annotations

import asyncio
import json
from functools import partial

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from gedeeld.nats import onderwerpen
from gedeeld.nats.hubconfig import HUB_DOMEIN, account
from tests.aanval.conftest import Productie
from tests.aanval.test_hub_schade import lds_subject_op
from tests.deploy.test_operatie import wacht_op_match
from tests.federatie.test_nats_hub import monitor, opnieuw, tot

# Starting the production federation (deploy/operatie.py) takes a minute or more on a loaded
# machine; it is charged to the first test that uses it.
pytestmark = pytest.mark.timeout(600)

A, B, C = "wvv", "arnhem", "haaglanden"
MET_FOUT = (nats.js.errors.Error, nats.errors.NoRespondersError, nats.errors.TimeoutError)


async def match_komt_aan(p: Productie, bsn: str, achternaam: str, andere: str = C) -> None:
    """A person registered in wvv and in another region is matched in wvv (the other regions'
    work goes on whatever the attacker did)."""
    wvv, ander = p.regio(A), p.regio(andere)
    casus = await asyncio.to_thread(wvv.aanmelden, bsn, achternaam)
    await asyncio.to_thread(ander.aanmelden, bsn, achternaam)
    match = await asyncio.to_thread(wacht_op_match, wvv, casus, 60)
    assert match.andere_regio == andere


async def test_a_region_cannot_create_or_change_consumers_and_wvv_keeps_its_matches(
    productie: Productie,
) -> None:
    arnhem = (await productie.als(B)).jetstream(domain=HUB_DOMEIN, timeout=2)
    beheer = (await productie.beheer()).jetstream()
    voor = await beheer.consumer_info("SIGNALEN", A)
    # The attack of test_hub_schade: a push consumer delivering into wvv's consumer's RESET API.
    for stroom in ("SIGNALEN", onderwerpen.stroom("treffer", B)):
        with pytest.raises(MET_FOUT):
            await arnhem.add_consumer(
                stroom,
                ConsumerConfig(
                    durable_name="sluiper",
                    deliver_subject=f"$JS.API.CONSUMER.RESET.SIGNALEN.{A}",
                    ack_policy=AckPolicy.NONE,
                ),
            )
    # Nor may it change its own consumer (say, to never give up on a message, or to skip ahead).
    eigen = onderwerpen.consument("SIGNALEN", B).config()
    eigen.max_deliver = -1
    with pytest.raises(MET_FOUT):
        await arnhem.add_consumer("SIGNALEN", eigen)
    with pytest.raises(MET_FOUT):
        await arnhem.delete_consumer("SIGNALEN", B)
    with pytest.raises(MET_FOUT):
        await arnhem.purge_stream(onderwerpen.stroom("treffer", B))
    with pytest.raises(MET_FOUT):
        await arnhem.add_stream(StreamConfig(name="EIGEN", subjects=["zvh.eigen.>"]))
    namen = {c.name for c in await beheer.consumers_info("SIGNALEN")}
    assert namen == {A, B, C}
    assert (await beheer.consumer_info("SIGNALEN", B)).config.max_deliver == onderwerpen.MAX_AFLEVERINGEN
    na = await beheer.consumer_info("SIGNALEN", A)
    assert na.delivered.stream_seq <= max(
        voor.delivered.stream_seq, (await beheer.stream_info("SIGNALEN")).state.last_seq
    )
    await match_komt_aan(productie, "234567004", "Berg")


async def test_a_loop_detection_subscription_does_not_reach_another_leaf(productie: Productie) -> None:
    poorten = productie.monitor_poorten()
    lds = await lds_subject_op(poorten, A)
    arnhem = await productie.als(B)
    await arnhem.subscribe(lds)
    await arnhem.flush()

    async def bij_de_hub() -> bool:
        """arnhem's subscription has reached the hub: in arnhem's own account."""
        for poort in poorten:
            subsz = await monitor(poort, f"/subsz?acc={account(B)}&subs=1&test={lds}")
            if subsz.get("num_matches"):
                return True
        return False

    await tot(bij_de_hub, "arnhem's $LDS subscription on the hub", 10)
    # Anything wvv's leaf receives after it was sent after what the hub would have forwarded.
    wvv = (await productie.als(A)).jetstream(domain=HUB_DOMEIN, timeout=2)
    await opnieuw(partial(wvv.stream_info, "SIGNALEN"), "the hub through wvv's leaf")
    assert "loop detected" not in productie.log(f"leaf-{A}").lower()
    leaves = {ln["name"] for poort in poorten for ln in (await monitor(poort, "/leafz")).get("leafs", [])}
    assert f"zvh-leaf-{A}" in leaves
    await match_komt_aan(productie, "234567016", "Jansen")


async def test_a_region_cannot_send_under_another_regions_code(productie: Productie) -> None:
    arnhem = (await productie.als(B)).jetstream(domain=HUB_DOMEIN, timeout=2)
    beheer = (await productie.beheer()).jetstream()
    voor = {s: (await beheer.stream_info(s)).state.messages for s in ("SIGNALEN", "TREFFER_WVV")}
    for subject in (
        onderwerpen.signaal(A),
        onderwerpen.treffer(A, C),
        onderwerpen.treffer(A, A),
        onderwerpen.overleg(A, C),
    ):
        with pytest.raises((nats.js.errors.NoStreamResponseError, nats.errors.TimeoutError)):
            await arnhem.publish(subject, b"vervalst")
    na = {s: (await beheer.stream_info(s)).state.messages for s in ("SIGNALEN", "TREFFER_WVV")}
    assert na == voor


async def test_a_flood_from_one_region_is_bounded_per_sender_on_the_hub(productie: Productie) -> None:
    beheer = (await productie.beheer()).jetstream()
    # The operators' bound for the test (production: onderwerpen.MAX_PER_AFZENDER, 20,000).
    info = await beheer.stream_info("SIGNALEN")
    config = info.config
    config.max_msgs_per_subject = 50
    await beheer.update_stream(config)
    try:
        per_regio = await signalen_per_regio(beheer)
        arnhem = (await productie.als(B)).jetstream(domain=HUB_DOMEIN, timeout=5)
        await asyncio.gather(
            *(arnhem.publish(onderwerpen.signaal(B), json.dumps({"rommel": i}).encode()) for i in range(200))
        )
        na = await signalen_per_regio(beheer)
        assert na.get(B, 0) == 50  # only its own older messages made way
        assert {r: n for r, n in na.items() if r != B} == {r: n for r, n in per_regio.items() if r != B}
        await match_komt_aan(productie, "234567028", "Visser")
    finally:
        config.max_msgs_per_subject = onderwerpen.MAX_PER_AFZENDER["signaal"]
        await beheer.update_stream(config)


async def signalen_per_regio(js: nats.js.JetStreamContext) -> dict[str, int]:
    info = await js.stream_info("SIGNALEN", subjects_filter="zvh.signaal.*")
    return {s.rsplit(".", 1)[1]: n for s, n in (info.state.subjects or {}).items()}
