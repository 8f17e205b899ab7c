"""Overload slows intake, never delivery (CONTRACT.md, "Guarantees").

The writer reports every commit, the node's delivery (the gateway's fan-out)
every position it has handed to its sockets. While the oldest acked event that
this node has not delivered yet is older than the budget, new sends are refused
with a time to retry: acked messages never pile up undelivered behind an intake
the projection and the fan-out cannot follow."""

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
        # (position, when committed) of commits not delivered yet, oldest first.
        self._pending: deque[tuple[int, float]] = deque()
        self._delivered = 0
        self._lock = threading.Lock()
        self.refused = 0

    def activate(self, delivered: int) -> None:
        with self._lock:
            self._active = self.budget_ms > 0
            self._delivered = delivered

    def committed(self, position: int) -> None:
        """On the writer thread, after each batch: its highest position."""
        if not self._active:
            return
        with self._lock:
            if position > self._delivered:
                self._pending.append((position, self._clock()))

    def delivered(self, upto: int) -> None:
        """On the delivery side: every event up to `upto` has reached this node's sockets."""
        with self._lock:
            self._delivered = max(self._delivered, upto)
            while self._pending and self._pending[0][0] <= self._delivered:
                self._pending.popleft()

    def lag_ms(self) -> float:
        """How long the oldest acked, undelivered event has waited (0 when none)."""
        with self._lock:
            if not self._pending:
                return 0.0
            return (self._clock() - self._pending[0][1]) * 1000

    def check(self) -> None:
        """Raises Overloaded while delivery is further behind than the budget. The
        backlog took about its age to build, so that is about how long it needs."""
        if not self._active:
            return
        lag = self.lag_ms()
        if lag > self.budget_ms:
            self.refused += 1
            raise Overloaded(int(min(MAX_RETRY_MS, max(MIN_RETRY_MS, lag))))
