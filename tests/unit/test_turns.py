"""Bulk work a few at a time per loop turn (interfaces/turns.py): a burst of receipts
lets other work run between its slices, and each receipt still starts, in order."""

import asyncio

from interfaces.turns import Turns


async def test_a_burst_starts_per_turn_in_arrival_order_and_other_work_runs_between() -> None:
    turns = Turns(per_turn=4)
    trace: list[str] = []

    async def receipt(i: int) -> None:
        await turns.take()
        trace.append(f"r{i}")

    async def send() -> None:
        trace.append("send")

    burst = [asyncio.create_task(receipt(i)) for i in range(10)]
    await asyncio.sleep(0)  # the turn in which the burst arrived
    other = asyncio.create_task(send())  # arrives behind the whole burst
    await asyncio.gather(*burst, other)

    receipts = [t for t in trace if t != "send"]
    assert receipts == [f"r{i}" for i in range(10)]
    # Without the turns the send would run after all ten receipts.
    assert trace.index("send") <= 8
    assert turns.waiting == 0


async def test_a_cancelled_waiter_takes_no_room() -> None:
    turns = Turns(per_turn=1)
    started: list[int] = []

    async def receipt(i: int) -> None:
        await turns.take()
        started.append(i)

    tasks = [asyncio.create_task(receipt(i)) for i in range(3)]
    await asyncio.sleep(0)
    tasks[1].cancel()  # its socket closed while it waited
    await asyncio.gather(*tasks, return_exceptions=True)
    assert started == [0, 2]
    assert turns.waiting == 0


async def test_alone_a_receipt_starts_at_once() -> None:
    turns = Turns(per_turn=32)
    await asyncio.wait_for(turns.take(), 0.1)
    assert turns.waiting == 0
