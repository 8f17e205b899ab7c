"""The receipt storm of issue 12: a chat of 1,000 members on PostgreSQL, 10 messages,
every member acks each message as delivered and reads the last (10,989 receipts),
1,000 in flight (one per member), while a pair chats in another chat at 20 messages/s.

    .venv/bin/python bench/receipt_storm.py [--members 1000] [--messages 10] [--pg-url URL]

In process: one node (bootstrap()), its group-commit writer and projections on
PostgreSQL, commands through ChatService as the gateway sends them (no sockets: this
measures storing receipts and what they cost everyone else's sends). Prints receipts
stored per second, how many were not acked within 30 s, the pair's send-ack latency
(p50/p99) while the storm runs, and how long the projections took to catch up.
The database's tables are dropped.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.chat import Chat  # noqa: E402
from domain.user import User  # noqa: E402
from infrastructure.eventstore import head_position  # noqa: E402
from infrastructure.settings import load_settings  # noqa: E402
from interfaces.server import GIL_SWITCH_INTERVAL_S, bootstrap  # noqa: E402
from tests.conftest import PG_URL, reset_postgres  # noqa: E402

ACK_TIMEOUT_S = 30.0
PAIR_RATE = 20.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def storm(url: str, members: int, messages: int) -> dict[str, float]:
    reset_postgres(url)
    data_dir = tempfile.mkdtemp()
    settings = load_settings({}, database_url=url, data_dir=data_dir,
                             jwt_secret="bench-" + "x" * 32, node_id="storm")
    node = bootstrap(settings)
    node.start()
    s = node.service
    try:
        users = [f"m{i}" for i in range(members)]
        node.store.save(*[User.register(u, None, None, False)
                          for u in [*users, "pair-a", "pair-b"]])
        room = Chat.start("storm", users[1:], users[0])
        node.store.save(room)
        pair = await s.create_chat("pair-a", "pair", ["pair-b"])
        sent = [(await s.send_message(users[0], room.id, f"announcement {i}", wait=False))
                .message.id for i in range(messages)]
        await s.sync()

        receipts = [(user, message_id, False) for user in users[1:] for message_id in sent]
        receipts += [(user, sent[-1], True) for user in users[1:]]
        pair_latencies: list[float] = []
        done = asyncio.Event()

        async def chat_meanwhile() -> None:
            i = 0
            while not done.is_set():
                started = time.perf_counter()
                await s.send_message("pair-a" if i % 2 else "pair-b", pair.id, f"hi {i}",
                                     wait=False)
                pair_latencies.append((time.perf_counter() - started) * 1000)
                i += 1
                await asyncio.sleep(max(0.0, 1 / PAIR_RATE - (time.perf_counter() - started)))

        async def member(user_receipts: list[tuple[str, str, bool]]) -> int:
            """One member's acks, one in flight, as a client sends them."""
            failed = 0
            for user, message_id, read in user_receipts:
                mark = s.mark_read if read else s.mark_delivered
                try:
                    await asyncio.wait_for(mark(user, room.id, message_id, wait=False),
                                           ACK_TIMEOUT_S)
                except Exception:
                    failed += 1
            return failed

        by_user: dict[str, list[tuple[str, str, bool]]] = {}
        for r in receipts:
            by_user.setdefault(r[0], []).append(r)
        pair_task = asyncio.create_task(chat_meanwhile())
        await asyncio.sleep(0.5)  # the pair's baseline first
        baseline = list(pair_latencies)
        started = time.perf_counter()
        failures = await asyncio.gather(*(member(rs) for rs in by_user.values()))
        elapsed = time.perf_counter() - started
        during = pair_latencies[len(baseline):]
        done.set()
        await pair_task
        head = await asyncio.to_thread(head_position, node.store)
        caught_up = time.perf_counter()
        await node.runner.wait_for(head, 120)
        return {
            "receipts": len(receipts), "not_acked": sum(failures), "seconds": elapsed,
            "per_second": len(receipts) / elapsed,
            "pair_p50": statistics.median(during) if during else float("nan"),
            "pair_p99": pct(during, 99) if during else float("nan"),
            "pair_sends": len(during),
            "projection_tail_s": time.perf_counter() - caught_up,
        }
    finally:
        node.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # as `eschat serve` runs
    r = asyncio.run(storm(args.pg_url, args.members, args.messages))
    print(f"| members | receipts | not acked in {ACK_TIMEOUT_S:.0f} s | seconds | receipts/s |"
          " pair ack p50 ms | pair ack p99 ms | pair sends | projections caught up after s |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.members} | {r['receipts']:,.0f} | {r['not_acked']:.0f} | {r['seconds']:.2f}"
          f" | {r['per_second']:,.0f} | {r['pair_p50']:.1f} | {r['pair_p99']:.1f}"
          f" | {r['pair_sends']:.0f} | {r['projection_tail_s']:.2f} |")


if __name__ == "__main__":
    main()
