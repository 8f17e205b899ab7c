"""Overload slows intake, never delivery (CONTRACT.md, "Guarantees").

The writer reports every commit; the node's delivery cursor every position it has
handed to its sockets, and the projections every position the read models hold.
While the oldest acked event that this node has not delivered yet is older than the
budget, or the oldest one the read models lack is older than twice the budget, new
sends are refused with a time to retry. The node delivers its own commits without
waiting for the read models, but a membership change, a presence change or another
node's message still comes through them: so they may not fall further behind either,
or the next such event would wait for them."""

import threading
import time
from collections import deque
from collections.abc import Callable

from application.writer import Unavailable

# A retry sooner than this only adds load; later than this a client thinks we are down.
MIN_RETRY_MS = 100
MAX_RETRY_MS = 5000


class Overloaded(Unavailable):
    """Refused before anything was stored: retry after `retry_after_ms`."""

    def __init__(self, retry_after_ms: int) -> None:
        super().__init__(f"the server is overloaded: retry in {retry_after_ms} ms")
        self.retry_after_ms = retry_after_ms


class DeliveryBackpressure:
    """Inactive until a delivery side `activate`s it: a node without sockets (the CLI,
    a REST-only test) has nothing to fall behind on, and must never refuse."""

    def __init__(self, budget_ms: int = 300,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget_ms = budget_ms
        self._clock = clock
        self._active = False
        # (position, when committed) of commits not delivered / not projected yet.
        self._pending: deque[tuple[int, float]] = deque()
        self._unprojected: deque[tuple[int, float]] = deque()
        self._delivered = 0
        self._projected = 0
        self._lock = threading.Lock()
        self.refused = 0

    def activate(self, delivered: int) -> None:
        with self._lock:
            self._active = self.budget_ms > 0
            self._delivered = self._projected = delivered

    def committed(self, position: int) -> None:
        """On the writer thread, after each batch: its highest position."""
        if not self._active:
            return
        with self._lock:
            now = self._clock()
            if position > self._delivered:
                self._pending.append((position, now))
            if position > self._projected:
                self._unprojected.append((position, now))

    def delivered(self, upto: int) -> None:
        """On the delivery side: every event up to `upto` has reached this node's sockets."""
        with self._lock:
            self._delivered = max(self._delivered, upto)
            while self._pending and self._pending[0][0] <= self._delivered:
                self._pending.popleft()

    def projected(self, upto: int) -> None:
        """The read models hold every event up to `upto`."""
        with self._lock:
            self._projected = max(self._projected, upto)
            while self._unprojected and self._unprojected[0][0] <= self._projected:
                self._unprojected.popleft()

    def lag_ms(self) -> float:
        """How long the oldest acked, undelivered event has waited (0 when none)."""
        with self._lock:
            return self._age(self._pending)

    def projection_lag_ms(self) -> float:
        """How long the oldest acked event the read models lack has waited."""
        with self._lock:
            return self._age(self._unprojected)

    def _age(self, pending: deque[tuple[int, float]]) -> float:
        return (self._clock() - pending[0][1]) * 1000 if pending else 0.0

    def check(self) -> None:
        """Raises Overloaded while delivery (or the read models) are further behind than
        the budget (twice the budget). The
        backlog took about its age to build, so that is about how long it needs."""
        if not self._active:
            return
        lag = max(self.lag_ms(), self.projection_lag_ms() / 2)  # read models: twice the budget
        if lag > self.budget_ms:
            self.refused += 1
            raise Overloaded(int(min(MAX_RETRY_MS, max(MIN_RETRY_MS, lag))))
