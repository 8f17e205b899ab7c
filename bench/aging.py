"""The cost of a command as a function of how much history its aggregate already
has (issue 12): a send to a chat, a membership change of that chat, a receipt of a
member, and a node heartbeat, after 0, 1k, 10k and 100k events of history.

    .venv/bin/python bench/aging.py [--sizes 0,1000,10000,100000] [--backends sqlite,postgres]
    .venv/bin/python bench/aging.py --aged-chat 4000      # the issue's aged-chat test
    .venv/bin/python bench/aging.py --repeat 5            # each cell the median of 5 runs

History is seeded through the aggregates in big saves (the store snapshots them as the
writer would); each measurement then runs through a fresh node (cold writer cache:
the first command loads from the latest snapshot) and reports that first command and
the p50 of the next ones, all through the real group-commit writer and service.
On PostgreSQL the seeded tables are vacuumed and analysed before measuring, as
autovacuum does within a minute of a bulk load (a month of real history never sits
unanalysed). "send (new chat)" is a send to a chat with no history in the same store:
the part of any growth that comes from the store's size rather than the aggregate's age.
`--aged-chat N` makes N membership changes through the service (as REST does) and
compares the send ack p50 of that chat with a new chat's.

PostgreSQL: tests.conftest.PG_URL (ESCHAT_TEST_PG_URL); its tables are dropped.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application import commands  # noqa: E402
from domain.chat import Chat  # noqa: E402
from domain.receipts import Receipts  # noqa: E402
from domain.user import User  # noqa: E402
from infrastructure.settings import load_settings  # noqa: E402
from interfaces.server import Container, bootstrap  # noqa: E402
from tests.conftest import PG_URL, reset_postgres  # noqa: E402

SAVE_EVERY = 2000
RUNS = 40


def node(url: str, data_dir: str) -> Container:
    settings = load_settings({}, database_url=url, data_dir=data_dir,
                             jwt_secret="bench-" + "x" * 32, node_id="bench-node")
    container = bootstrap(settings)
    container.start()
    return container


def fresh_store(backend: str, name: str = "aging") -> tuple[str, str]:
    """An empty store of `backend` (PostgreSQL: tests.conftest.PG_URL, its tables dropped)."""
    data_dir = tempfile.mkdtemp()
    if backend == "postgres":
        reset_postgres(PG_URL)
        return PG_URL, data_dir
    return f"sqlite:///{data_dir}/{name}.db", data_dir


def print_table(backend: str, rows: list[tuple[int, dict[str, tuple[float, float]]]]) -> None:
    """One row per history size, one column per command: first / p50 of the next RUNS."""
    commands = list(rows[0][1])
    print(f"\n{backend}: first command (cold cache) / p50 of {RUNS} next, ms\n")
    print("| history | " + " | ".join(commands) + " |")
    print("|---|" + "---|" * len(commands))
    for history, out in rows:
        print(f"| {history:,} | " + " | ".join(
            f"{out[c][0]:.2f} / {out[c][1]:.2f}" for c in commands) + " |")


def seed(container: Container, history: int) -> tuple[str, str]:
    """A chat with `history` membership events and bob's receipts with `history`
    marks in it; returns (chat id, node id with `history` lease renewals)."""
    store = container.store
    users = [User.register(u, None, None, False) for u in ("alice", "bob", "carol")]
    chat = Chat.start("aged", ["bob"], "alice")
    receipts = Receipts(chat_id=chat.id, user_id="bob")
    store.save(*users, chat, receipts)
    for i in range(history):
        if i % 2 == 0:
            chat.add_member("carol", "alice")
        else:
            chat.remove_member("carol", "alice")
        receipts.deliver(chat.id, "alice", i + 1, 2)  # marks below any real seq
        if (i + 1) % SAVE_EVERY == 0:
            store.save(chat, receipts)
    store.save(chat, receipts)
    node_id = f"aged-node-{history}"
    # The lease row renewed `history` times, each renewal its own transaction as a
    # node's are (one every 25 s). All in one transaction, as this bench first did, left
    # 100k versions of one row that no live node ever makes (PostgreSQL could not
    # update it in place), and the heartbeat measured that: 0.47 -> 0.64 ms at 100k.
    for i in range(history):
        with container.db.transaction() as tx:
            tx.execute("INSERT INTO node_leases (node_id, lease_until) VALUES (%s, %s)"
                       " ON CONFLICT (node_id) DO UPDATE SET lease_until = excluded.lease_until",
                       (node_id, time.time() + i))
    return str(chat.id), node_id


def settle(url: str) -> None:
    """What autovacuum does after a bulk load: planner statistics, no dead tuples."""
    if not url.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def measure(container: Container, chat_id: str, node_id: str) -> dict[str, tuple[float,
                                                                                       float]]:
    s = container.service
    sent = []
    out: dict[str, tuple[float, float]] = {}

    async def series(name: str, make: Callable[[int], Callable[[], Awaitable[Any]]]) -> None:
        times = [await timed(make(i)) for i in range(RUNS + 1)]
        out[name] = (times[0], statistics.median(times[1:]))

    async def remember(i: int) -> None:
        result = await s.send_message("alice", chat_id, f"m{i}", wait=False)
        sent.append(result.message.id)

    await series("send", lambda i: lambda: remember(i))
    fresh = await s.create_chat("alice", "fresh", ["bob"])
    await series("send (new chat)", lambda i: lambda: s.send_message(
        "alice", fresh.id, f"n{i}", wait=False))
    await series("receipt", lambda i: lambda: s.mark_delivered("bob", chat_id, sent[i],
                                                               wait=False))
    # The write alone (REST also waits for its read models: that is not the aggregate).
    writer = container.writer
    await series("membership change", lambda i: lambda: writer.submit_async(
        commands.add_member("alice", chat_id, "carol") if i % 2 == 0 else
        commands.remove_member("alice", chat_id, "carol")))
    leases = container.leases
    await series("heartbeat", lambda i: lambda: asyncio.to_thread(leases.renew, node_id, 75.0))
    return out


async def aging(backend: str, sizes: list[int]) -> list[tuple[int, dict[str, tuple[float,
                                                                                   float]]]]:
    rows = []
    for history in sizes:
        url, data_dir = fresh_store(backend)
        container = node(url, data_dir)
        chat_id, node_id = await asyncio.to_thread(seed, container, history)
        await asyncio.to_thread(container.runner.catch_up)  # no projection work meanwhile
        container.close()
        await asyncio.to_thread(settle, url)
        container = node(url, data_dir)  # cold cache: loads from the latest snapshot
        try:
            rows.append((history, await measure(container, chat_id, node_id)))
        finally:
            container.close()
        print(f"  {backend} {history}: done", file=sys.stderr)
    return rows


async def aged_chat(backend: str, changes: int, sends: int = 200) -> tuple[float, float]:
    url, data_dir = fresh_store(backend)
    container = node(url, data_dir)
    s = container.service
    try:
        for user in ("alice", "bob", "carol"):
            await s.ensure_user(user)
        aged = await s.create_chat("alice", "aged", ["bob"])
        for i in range(changes):
            if i % 2 == 0:
                await s.add_member("alice", aged.id, "carol")
            else:
                await s.remove_member("alice", aged.id, "carol")
        new = await s.create_chat("alice", "new", ["bob"])
        result = []
        for chat in (aged, new):
            times = [await timed(lambda c=chat, i=i: s.send_message(
                "alice", c.id, f"m{i}", wait=False)) for i in range(sends)]
            result.append(statistics.median(times))
        return result[0], result[1]
    finally:
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,1000,10000,100000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--aged-chat", type=int, default=0,
                        help="membership changes of the aged chat (the issue: 4000)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per backend; each cell is then the median over the runs")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if args.aged_chat:
        print(f"| backend | send ack p50 after {args.aged_chat} membership changes ms |"
              " new chat ms | ratio |\n|---|---|---|---|")
        for backend in backends:
            aged, new = asyncio.run(aged_chat(backend, args.aged_chat))
            print(f"| {backend} | {aged:.2f} | {new:.2f} | {aged / new:.2f} |")
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    for backend in backends:
        runs = [asyncio.run(aging(backend, sizes)) for _ in range(args.repeat)]
        print_table(backend, runs[0] if args.repeat == 1 else median_of(runs))


def median_of(runs: list[list[tuple[int, dict[str, tuple[float, float]]]]]
              ) -> list[tuple[int, dict[str, tuple[float, float]]]]:
    """Per cell, the median over the runs (each run is a fresh store per size)."""
    out = []
    for i, (history, first) in enumerate(runs[0]):
        out.append((history, {c: (statistics.median(r[i][1][c][0] for r in runs),
                                  statistics.median(r[i][1][c][1] for r in runs))
                              for c in first}))
    return out


if __name__ == "__main__":
    main()
