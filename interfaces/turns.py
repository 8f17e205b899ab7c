"""Bulk work on the event loop, a few at a time per loop turn.

When a message reaches a room of 1,000, up to 999 receipts arrive at once. Each one's
handler (parse, command, hand-over to the writer) runs as a task, and asyncio runs
every ready task of a turn before it looks at anything that arrived after them. So a
burst of 999 receipts held another chat's send for 100-150 ms: the tail of issue 12's
receipt storm, all of it in the first 150 ms of the storm. Receipts wait for their turn
here, at most `per_turn` of them per loop turn and in arrival order. A send behind them
waits for `per_turn` receipts, not 999. Receipts already wait behind everything else in
the writer (BULK_PER_BATCH), so they lose nothing by waiting here too."""

import asyncio
from collections import deque


class Turns:
    def __init__(self, per_turn: int) -> None:
        self._per_turn = per_turn
        self._admitted = 0  # in this turn
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._next_scheduled = False

    async def take(self) -> None:
        """Returns at once while this turn has room, else in a later turn, in order."""
        if not self._waiting and self._admitted < self._per_turn:
            self._admitted += 1
            self._schedule_next_turn()
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting.append(waiter)
        self._schedule_next_turn()
        await waiter

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _schedule_next_turn(self) -> None:
        # call_soon from inside a turn runs in the next one: asyncio runs only the
        # callbacks that were ready when a turn began.
        if not self._next_scheduled:
            self._next_scheduled = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._next_scheduled = False
        self._admitted = 0
        while self._waiting and self._admitted < self._per_turn:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a cancelled handler (its socket closed) takes no room
                waiter.set_result(None)
                self._admitted += 1
        if self._waiting or self._admitted:
            self._schedule_next_turn()
