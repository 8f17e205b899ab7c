"""Brute-force limits of POST /api/auth/login (CONTRACT.md): at most 10 wrong passwords
per account per 15 minutes, and at most 50 per client address, then 429 with
``Retry-After`` (seconds until the oldest counted failure leaves the window).

An attempt counts as a failure from the moment it starts and is forgiven if the
password was right: concurrent guesses cannot slip past the limit while their hashes
run. While a limit holds, attempts are refused before any hashing. Counters live in
this process (``--workers N``: per worker) and track at most ``max_keys`` accounts and
addresses, the least recently seen dropped first. A 429 is answered after a second, so
clients that ignore ``Retry-After`` cannot turn refusals into a request flood.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 15 * 60
PER_ACCOUNT = 10
PER_ADDRESS = 50
MAX_KEYS = 100_000
THROTTLED_ANSWER_DELAY_S = 1.0  # the 429 comes after this (see the login controller)


class LoginThrottled(Exception):
    """Too many failed logins for this account or from this address."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class FailureWindow:
    """Failure times per key within a sliding window."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float],
                 max_keys: int) -> None:
        self.limit, self.window_s, self._clock, self._max_keys = limit, window_s, clock, max_keys
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> float | None:
        times = self._recent(key)
        if times is None or len(times) < self.limit:
            return None
        return times[-self.limit] + self.window_s - self._clock()

    def add(self, key: str, at: float) -> None:
        times = self._times.setdefault(key, deque(maxlen=self.limit))
        times.append(at)
        self._times.move_to_end(key)
        while len(self._times) > self._max_keys:
            self._times.popitem(last=False)

    def forgive(self, key: str, at: float) -> None:
        times = self._times.get(key)
        if times is not None and at in times:
            times.remove(at)

    def _recent(self, key: str) -> deque[float] | None:
        times = self._times.get(key)
        if times is None:
            return None
        horizon = self._clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times


@dataclass(frozen=True)
class Attempt:
    account: str
    address: str
    at: float


class LoginLimiter:
    def __init__(self, per_account: int = PER_ACCOUNT, per_address: int = PER_ADDRESS,
                 window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self._clock = clock
        self._accounts = FailureWindow(per_account, window_s, clock, max_keys)
        self._addresses = FailureWindow(per_address, window_s, clock, max_keys)

    def begin(self, account: str, address: str) -> Attempt:
        """Counts the attempt as a failure, or raises ``LoginThrottled``."""
        waits = [w for w in (self._accounts.retry_after(account),
                             self._addresses.retry_after(address)) if w is not None]
        if waits:
            raise LoginThrottled(max(1, math.ceil(max(waits))))
        attempt = Attempt(account, address, self._clock())
        self._accounts.add(account, attempt.at)
        self._addresses.add(address, attempt.at)
        return attempt

    def forgive(self, attempt: Attempt) -> None:
        """The password was right (or it could not be checked): the attempt does not count."""
        self._accounts.forgive(attempt.account, attempt.at)
        self._addresses.forgive(attempt.address, attempt.at)
