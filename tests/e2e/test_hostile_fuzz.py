"""The live fuzz run, small: hostile WebSocket and polling clients, with and without a
token, against a real `eschat serve` while a healthy pair chats (bench/hostile_fuzz.py;
run it for minutes from there). The seed is printed; ESCHAT_FUZZ_SEED=N replays it."""

import asyncio
import os
import random
from collections.abc import Callable

from bench.hostile_fuzz import fuzz, fuzz_settings
from tests.conftest import ServerProcess

SECONDS = 8
CLIENTS = 6


def test_hostile_clients_cannot_crash_stall_or_disturb_a_healthy_pair(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
) -> None:
    seed = int(os.environ.get("ESCHAT_FUZZ_SEED") or random.randrange(2**32))
    print(f"fuzz seed {seed} (replay: ESCHAT_FUZZ_SEED={seed})")
    server = server_factory(sqlite_url, **fuzz_settings())
    outcome = asyncio.run(fuzz(server, SECONDS, CLIENTS, seed))
    report = outcome.report()
    print(report)
    t = outcome.tally
    assert outcome.alive, f"server died; {report}\n{server.log()[-3000:]}"
    assert outcome.healthy, report
    assert t.frames > 100, report  # the clients really sent something
    assert t.disconnects == 0, report
    assert t.failed_acks == 0 and len(t.acks) > 10, report
    assert t.unanswered == 0, report
    assert outcome.five_xx == 0, report
    assert max(t.acks) < 5, report  # robust on a shared machine; bench/ measures < 1 s
    log = server.log()
    for marker in ("Traceback", "Fatal Python error", "Uncaught Exception", "cffi callback"):
        assert marker not in log, f"{marker} in the server log (seed {seed}):\n{log[-3000:]}"
