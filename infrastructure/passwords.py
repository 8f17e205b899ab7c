"""Password hashing with argon2id (a memory-hard KDF) on a bounded pool of its own.

One argon2 check costs ~0.1-0.2 s of CPU. Run on the default executor, a login flood
took as many threads as it had requests and both cores from chat traffic (other users'
p99 went from 4 to 77 ms). Here every hash and check runs on ``workers`` threads of
their own, at a lower CPU priority than the event loop, and at most ``max_waiting``
more wait for them: beyond that the caller gets ``Unavailable`` (503, retry), without a
thread blocked.
"""

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from application.writer import Unavailable

T = TypeVar("T")
NICENESS = 10  # the pool's threads yield the CPU to the event loop and the writer


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # Linux: a thread id is a "process"
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


class Argon2Hasher:
    def __init__(self, workers: int = 1, max_waiting: int = 64) -> None:
        self._argon2 = _Argon2()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2",
                                        initializer=_lower_priority)
        self._max_in_flight = workers + max_waiting
        self._in_flight = 0

    async def hash(self, password: str) -> str:
        return await self._run(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(self._check, password_hash, password)

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        if self._in_flight >= self._max_in_flight:
            raise Unavailable("too many password checks at once; try again")
        self._in_flight += 1  # only the event loop touches the counter
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._in_flight -= 1
