"""The cost of changing a message as a function of what its history already holds
(issue 16, "costs stay flat"): an edit, a reaction, a pin and a send to the same chat,
on a message with 0, 1k and 10k edits, as many pin/unpin toggles, as many other users'
reactions and as many add/remove toggles of the reacting user's own reaction.

    .venv/bin/python bench/message_aging.py [--sizes 0,1000,10000] [--backends sqlite,postgres]

The history is seeded through the aggregates in big saves (the store snapshots them as
the writer would). Each size then runs through a fresh node (cold writer cache: the first
command loads the message from its latest snapshot) and reports that first command and
the p50 of the next ones, all through the real group-commit writer and service: "ack" is
the durable commit (what a Socket.IO ack waits for), "applied" waits until the read
models hold the change too (what a REST answer waits for). "send" is a new message in
the same chat, the yardstick. On PostgreSQL the seeded tables are vacuumed and analysed
first, as autovacuum does after a bulk load.

PostgreSQL: tests.conftest.PG_URL (ESCHAT_TEST_PG_URL); its tables are dropped.
"""

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aging import fresh_store, node, print_table, settle  # noqa: E402
from domain.chat import Chat  # noqa: E402
from domain.message import Message  # noqa: E402
from domain.reactions import Reactions  # noqa: E402
from domain.user import User  # noqa: E402
from infrastructure.eventstore import head_position  # noqa: E402
from interfaces.server import Container  # noqa: E402

SAVE_EVERY = 1000
RUNS = 40


def seed(container: Container, history: int) -> tuple[str, str]:
    """alice's message in a chat with bob and carol, with `history` edits, `history`
    pin/unpin toggles, `history` reactions of other users and `history` add/remove
    toggles of bob's own. Returns (chat id, message id)."""
    store = container.store
    users = [User.register(u, None, None, False) for u in ("alice", "bob", "carol")]
    chat = Chat.start("aged", ["bob", "carol"], "alice")
    store.save(*users, chat)
    message = Message(chat_id=chat.id, sender_id="alice", content="v0", client_message_id=None)
    store.save(message)
    seq = head_position(store)
    bob = Reactions(chat_id=chat.id, message_id=message.id, user_id="bob")
    fans: list[Reactions] = []
    for i in range(history):
        message.edit("alice", f"v{i + 1} @bob", chat.member_ids, seq)
        if i % 2 == 0:
            message.pin("alice", seq)
            bob.add("👍")
        else:
            message.unpin("alice", seq)
            bob.remove("👍")
        fan = Reactions(chat_id=chat.id, message_id=message.id, user_id=f"fan{i}")
        fan.add("🎉")
        fans.append(fan)
        if (i + 1) % SAVE_EVERY == 0:
            store.save(message, bob, *fans)
            fans = []
    store.save(message, bob, *fans)
    return str(chat.id), str(message.id)


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def measure(container: Container, chat_id: str, message_id: str, history: int
                  ) -> dict[str, tuple[float, float]]:
    s = container.service
    out: dict[str, tuple[float, float]] = {}
    # After an odd number of seeded toggles bob's 👍 is there and the message pinned;
    # each measured command toggles them again, so each stores a real change.
    state = {"reacted": history % 2 == 1, "pinned": history % 2 == 1, "edits": 0}

    async def series(name: str, call: Callable[[], Awaitable[Any]]) -> None:
        times = [await timed(call) for _ in range(RUNS + 1)]
        out[name] = (times[0], statistics.median(times[1:]))

    for wait in (False, True):
        label = "applied" if wait else "ack"

        async def edit(wait: bool = wait) -> None:
            state["edits"] += 1
            assert await s.edit_message("alice", chat_id, message_id, f"e{state['edits']}",
                                        wait=wait) is not None

        async def react(wait: bool = wait) -> None:
            state["reacted"] = not state["reacted"]
            assert await s.set_reaction("bob", chat_id, message_id, "👍", state["reacted"],
                                        wait=wait) is not None

        async def pin(wait: bool = wait) -> None:
            state["pinned"] = not state["pinned"]
            assert await s.set_pin("alice", chat_id, message_id, state["pinned"],
                                   wait=wait) is not None

        async def send(wait: bool = wait) -> None:
            await s.send_message("alice", chat_id, "m", wait=wait)

        for name, call in (("edit", edit), ("reaction", react), ("pin", pin), ("send", send)):
            await series(f"{name} {label}", call)
    return out


async def message_aging(backend: str, sizes: list[int]
                        ) -> list[tuple[int, dict[str, tuple[float, float]]]]:
    rows = []
    for history in sizes:
        url, data_dir = fresh_store(backend)
        container = node(url, data_dir)
        chat_id, message_id = await asyncio.to_thread(seed, container, history)
        await asyncio.to_thread(container.runner.catch_up)  # no projection work meanwhile
        container.close()
        await asyncio.to_thread(settle, url)
        container = node(url, data_dir)  # cold cache: loads from the latest snapshot
        try:
            rows.append((history, await measure(container, chat_id, message_id, history)))
        finally:
            container.close()
        print(f"  {backend} {history}: done", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,1000,10000")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    for backend in args.backends.split(","):
        print_table(backend, asyncio.run(message_aging(backend, sizes)))


if __name__ == "__main__":
    main()
