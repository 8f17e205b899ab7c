"""Time travel (issue 18): an `asOf` query on a chat of 100k events, p50 and p99.

    .venv/bin/python bench/as_of.py [--events 100000] [--queries 200] [--backends sqlite,postgres]

Seeds one chat through its aggregates in big saves (as the writer would: the store
snapshots the chat every 100 events): messages, edits of some, deletes, reactions,
receipts of two members, and membership changes (carol leaves and comes back, so her
spans have gaps), `--events` in all; projects them; then asks, through the real
service of a fresh node, for a page of 50 messages and for the chat itself as they
stood at random positions across the chat's history, as alice (there throughout) and
as carol (away for part of it: about 100 spans of membership; positions where she
was away answer 403 and are left out of her figures). Each answer is checked against
the seeding (every message of the page sent at or before the position).

PostgreSQL: tests.conftest.PG_URL (ESCHAT_TEST_PG_URL); its tables are dropped.
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aging import fresh_store, node  # noqa: E402
from domain.chat import Chat  # noqa: E402
from domain.errors import Forbidden  # noqa: E402
from domain.message import Message  # noqa: E402
from domain.reactions import Reactions  # noqa: E402
from domain.receipts import Receipts  # noqa: E402
from domain.user import User  # noqa: E402
from interfaces.server import Container  # noqa: E402

SAVE_EVERY = 2000


def seed(container: Container, events: int) -> tuple[str, int, int]:
    """The chat of `events` events; returns (chat id, its first and last position)."""
    store = container.store
    users = [User.register(u, None, None, False) for u in ("alice", "bob", "carol")]
    chat = Chat.start("busy", ["bob", "carol"], "alice")
    receipts = {u: Receipts(chat_id=chat.id, user_id=u) for u in ("bob", "carol")}
    first = store.save(*users, chat, *receipts.values())[3].notification.id
    rng = random.Random(18)
    made = 4
    pending: list[Any] = []
    recent: list[tuple[Message, int]] = []
    carol_in = True

    def flush() -> None:
        if not pending:
            return
        recordings = store.save(*{a.id: a for a in pending}.values())
        for r in recordings:
            if isinstance(r.domain_event, Message.Sent):
                recent.append((positions[r.domain_event.originator_id], r.notification.id))
        pending.clear()
        del recent[:-200]

    positions: dict[Any, Message] = {}
    while made < events:
        roll = rng.random()
        if roll < 0.90 or not recent:
            sender = rng.choice(["alice", "bob"] + (["carol"] if carol_in else []))
            message = Message(chat_id=chat.id, sender_id=sender, content=f"m{made} " + "x" * 40,
                              client_message_id=None)
            positions[message.id] = message
            pending.append(message)
        else:
            message, seq = rng.choice(recent)
            if roll < 0.94 and not message.deleted:
                message.edit(message.sender_id, f"edited {made}", [], seq=seq)
                pending.append(message)
            elif roll < 0.95 and not message.deleted:
                message.delete(message.sender_id, by_admin=False, seq=seq)
                pending.append(message)
            elif roll < 0.97:
                reactions = Reactions(chat_id=chat.id, message_id=message.id, user_id="bob")
                reactions.add(rng.choice(["👍", "🎉", "❤"]))
                pending.append(reactions)
            elif roll < 0.998:
                reader = rng.choice(["bob"] + (["carol"] if carol_in else []))
                if not receipts[reader].read(message.id, message.sender_id, seq, 3):
                    continue
                pending.append(receipts[reader])
            else:
                (chat.remove_member if carol_in else chat.add_member)("carol", "alice")
                carol_in = not carol_in
                pending.append(chat)
        made += 1
        if len(pending) >= SAVE_EVERY:
            flush()
    flush()
    if not carol_in:
        chat.add_member("carol", "alice")
        store.save(chat)
    return str(chat.id), first, container.store.recorder.max_notification_id() or 0


async def timed(samples: list[float], call: Any) -> Any:
    started = time.perf_counter()
    try:
        return await call
    finally:
        samples.append((time.perf_counter() - started) * 1000)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(container: Container, chat_id: str, first: int, last: int,
                  queries: int) -> dict[str, list[float]]:
    s = container.service
    rng = random.Random(7)
    refused = 0
    out: dict[str, list[float]] = {"history page (alice)": [], "history page (carol)": [],
                                   "chat": []}
    for _ in range(queries):
        at = rng.randint(first + 100, last)
        page, _ = await timed(out["history page (alice)"],
                              s.history_as_of("alice", chat_id, at, limit=50))
        assert page and all(m.seq <= at for m in page), at
        try:
            await timed(out["history page (carol)"], s.history_as_of("carol", chat_id, at))
        except Forbidden:  # away at that position: a 403, not a page
            out["history page (carol)"].pop()
            refused += 1
        chat = await timed(out["chat"], s.chat_as_of("alice", chat_id, at))
        assert "alice" in chat.member_ids
    print(f"  carol was away at {refused} of {queries} positions (403)", file=sys.stderr)
    return out


async def run(backend: str, events: int, queries: int) -> tuple[int, dict[str, list[float]]]:
    url, data_dir = fresh_store(backend, "as_of")
    container = node(url, data_dir)
    started = time.perf_counter()
    chat_id, first, last = await asyncio.to_thread(seed, container, events)
    print(f"  {backend}: seeded {last - first + 1:,} events in"
          f" {time.perf_counter() - started:.0f} s", file=sys.stderr)
    await asyncio.to_thread(container.runner.catch_up)
    container.close()
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:  # as autovacuum would
            conn.execute("VACUUM ANALYZE")
    container = node(url, data_dir)  # cold: nothing of the chat in memory
    try:
        return last - first + 1, await measure(container, chat_id, first, last, queries)
    finally:
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print("| backend | chat events | query | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        size, out = asyncio.run(run(backend, args.events, args.queries))
        for name, samples in out.items():
            if not samples:
                continue
            print(f"| {backend} | {size:,} | {name} | {statistics.median(samples):.1f} |"
                  f" {pct(samples, 0.99):.1f} | {max(samples):.1f} |", flush=True)


if __name__ == "__main__":
    main()
