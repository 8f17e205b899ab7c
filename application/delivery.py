"""The node's delivery cursor: what this node has handed to its sockets, in store order.

Two sources feed it (DESIGN.md, "The read side"):
- the node's own commits, straight from the writer (`committed`), with the feed rows
  made from the committed events themselves: delivery at the speed of the commit;
- the feed of the read models (`followed`), complete up to a position: the events of
  other nodes and of other processes, and every event whose rows only the read models
  can make (membership, presence, a read that privacy may hide).

Both are published strictly in store order and each position once. A commit is
published at once when every position before it has been delivered; otherwise (a gap:
another node or process wrote, a rolled-back batch left a hole, or an earlier commit
of this node waits for its rows from the feed) it waits until the feed has passed the
gap. A commit whose rows only the feed can make (`rows is None`) waits for the feed
to pass it. Recovery offsets are positions, so a socket that got the events in store
order recovers exactly what it missed."""

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

# (position, type, chat id, user id, payload JSON): one feed row as the gateway publishes it.
Row = tuple[int, str, str | None, str | None, str]


class Committed(NamedTuple):
    first: int
    last: int
    rows: Sequence[Row] | None  # None: only the feed can make this batch's rows


class DeliveryCursor:
    """Runs on the event loop only. `publish(rows)` hands rows (store order) to the
    sockets; `delivered` is the highest position up to which everything is handed over."""

    def __init__(self, delivered: int, publish: Callable[[Sequence[Row]], Any]) -> None:
        self.delivered = delivered
        self._publish = publish
        self._waiting: deque[Committed] = deque()

    @property
    def waiting(self) -> int:
        """Commits of this node waiting for the feed to pass a gap before them."""
        return len(self._waiting)

    def committed(self, batch: Committed) -> None:
        if batch.last <= self.delivered:
            return  # the feed was faster
        self._waiting.append(batch)
        self._release()

    def followed(self, rows: Sequence[Row], upto: int) -> None:
        """The feed's rows after what it gave before, complete up to `upto`."""
        fresh = [r for r in rows if r[0] > self.delivered]
        if fresh:
            self._publish(fresh)
        if upto > self.delivered:
            self.delivered = upto
        self._release()

    def _release(self) -> None:
        waiting = self._waiting
        while waiting:
            batch = waiting[0]
            if batch.last <= self.delivered:
                waiting.popleft()  # the feed delivered it
                continue
            if batch.rows is None or batch.first > self.delivered + 1:
                return  # the feed must pass it, or a gap before it, first
            waiting.popleft()
            rows = [r for r in batch.rows if r[0] > self.delivered]
            if rows:
                self._publish(rows)
            self.delivered = batch.last
