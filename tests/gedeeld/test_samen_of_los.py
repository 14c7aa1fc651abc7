"""A batch handler applies a batch's valid items in one go and, should that fail, one at a time:
an item that cannot be applied holds up only its own message."""

from __future__ import annotations

import asyncio

import pytest

from gedeeld.nats.jetstream import Uitkomst, samen_of_los


class Toepassing:
    """Applies items; one that is ``slecht`` fails, and takes down any batch it is in."""

    def __init__(self) -> None:
        self.toegepast: list[str] = []
        self.batches: list[list[str]] = []

    async def samen(self, items: list[str]) -> None:
        self.batches.append(items)
        if "slecht" in items:
            raise RuntimeError("constraint")
        self.toegepast.extend(items)

    async def los(self, item: str) -> None:
        await self.samen([item])


async def test_a_good_batch_is_applied_in_one_go() -> None:
    t = Toepassing()
    uitkomsten = [Uitkomst.KLAAR, Uitkomst.WEIGER, Uitkomst.KLAAR]
    await samen_of_los([(0, "a"), (2, "b")], uitkomsten, t.samen, t.los, "proef")
    assert t.batches == [["a", "b"]] and t.toegepast == ["a", "b"]
    assert uitkomsten == [Uitkomst.KLAAR, Uitkomst.WEIGER, Uitkomst.KLAAR]


async def test_a_failing_item_holds_up_only_its_own_message(caplog: pytest.LogCaptureFixture) -> None:
    t = Toepassing()
    uitkomsten = [Uitkomst.KLAAR] * 4
    await samen_of_los([(0, "a"), (1, "slecht"), (3, "c")], uitkomsten, t.samen, t.los, "proef")
    assert t.toegepast == ["a", "c"]  # in stream order, each on its own after the batch failed
    assert uitkomsten == [Uitkomst.KLAAR, Uitkomst.OPNIEUW, Uitkomst.KLAAR, Uitkomst.KLAAR]
    assert [r.getMessage() for r in caplog.records if r.name == "zvh.jetstream"] == [
        "batch failed; handling its messages one at a time",
        "handler failed; message will be redelivered",
    ]


async def test_a_batch_of_one_is_not_tried_twice() -> None:
    t = Toepassing()
    uitkomsten = [Uitkomst.KLAAR]
    await samen_of_los([(0, "slecht")], uitkomsten, t.samen, t.los, "proef")
    assert t.batches == [["slecht"]] and uitkomsten == [Uitkomst.OPNIEUW]
    await samen_of_los([], uitkomsten, t.samen, t.los, "proef")
    assert t.batches == [["slecht"]]


async def test_a_cancel_is_not_taken_for_a_failure() -> None:
    async def geannuleerd(_items: list[str]) -> None:
        raise asyncio.CancelledError

    async def los(_item: str) -> None:
        raise AssertionError("not after a cancel")

    uitkomsten = [Uitkomst.KLAAR, Uitkomst.KLAAR]
    with pytest.raises(asyncio.CancelledError):
        await samen_of_los([(0, "a"), (1, "b")], uitkomsten, geannuleerd, los, "proef")
    assert uitkomsten == [Uitkomst.KLAAR, Uitkomst.KLAAR]
