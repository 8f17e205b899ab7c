"""The receipt storm of issue 12: a chat of 1,000 members on PostgreSQL, 10 messages,
every member acks each message as delivered and reads the last (10,989 receipts),
1,000 in flight (one per member), while a pair chats in another chat at 20 messages/s.

    .venv/bin/python bench/receipt_storm.py [--sockets] [--members 1000] [--messages 10]
                                            [--pg-url URL]

In process (the default): one node (bootstrap()), its group-commit writer and
projections on PostgreSQL, commands through ChatService as the gateway sends them (no
sockets: this measures storing receipts and what they cost everyone else's sends).

--sockets: as the issue measured it. `eschat serve` on PostgreSQL in its own process;
the 999 receiving members are Socket.IO clients in two load generator processes
(bench/loadgen.py, raw frames), each sending `message-delivered` for every message and
`message-read` for the last, one in flight; the pair is two clients in a third process,
sending at 20/s in all. The pair's figures are over the messages it sent while the storm
ran: send -> ack, and send -> the other member's `new-message`.

Prints receipts stored per second, how many were not acked within 30 s, the pair's
latency while the storm runs, and how long the projections took to catch up. The
database's tables are dropped.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

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


def over_sockets(url: str, members: int, messages: int) -> dict[str, float]:
    from bench.scenarios import Loadgens, merge, percentile
    from bench.servers import start

    server = start("eschat-postgres", url, None)
    try:
        rooms, auth = server.make_rooms([members, 2], "r")
        room, pair = rooms
        with httpx.Client(base_url=server.http_url, timeout=60) as http:
            headers = {"Authorization": f"Bearer {auth[room.members[0]]['token']}"}
            sent = []
            for i in range(messages):
                r = http.post(f"/api/chats/{room.chat_id}/messages", headers=headers,
                              json={"content": f"announcement {i}"})
                r.raise_for_status()
                sent.append(r.json()["id"])
            server.wait_projected(http)
        receipts = [["message-delivered", room.chat_id, m] for m in sent]
        receipts.append(["message-read", room.chat_id, sent[-1]])
        storm_gens = Loadgens(server, [{"auth": auth[u], "receipts": receipts}
                                       for u in room.members[1:]], 2, None)
        pair_gens = Loadgens(server, [{"auth": auth[u], "chatId": pair.chat_id, "roomSize": 2}
                                      for u in pair.members], 1, None)
        try:
            time.sleep(5.0)  # the members' user-online frames settle
            t0 = time.monotonic_ns() + 200_000_000
            storm_start = t0 + 2_000_000_000  # the pair's baseline first
            pair_gens.go({"startNs": t0, "endNs": storm_start + int(ACK_TIMEOUT_S * 1e9),
                          "warmupS": 0, "ratePerSender": PAIR_RATE / 2, "lag": True,
                          "drainS": 10, "quietS": 1})
            storm_gens.go({"startNs": storm_start,
                           "endNs": storm_start + int(ACK_TIMEOUT_S * 1e9),
                           "warmupS": 0, "drainS": 0, "quietS": 0})
            storm = storm_gens.results()
            caught_up = time.perf_counter()
            with httpx.Client(base_url=server.http_url, timeout=60) as http:
                server.wait_projected(http)
            tail = time.perf_counter() - caught_up
            paired = pair_gens.results()[0]
        finally:
            storm_gens.close()
            pair_gens.close()
        storm_end = max(r["lastReceiptAckNs"] for r in storm)
        acks, deliveries = [], []
        for key, ack_us in paired["lagAcks"].items():
            sent_ns = int(key.split("|")[1])
            if storm_start <= sent_ns <= storm_end:
                acks.append((t0 + ack_us * 1000 - sent_ns) / 1e6)
                copies = paired["lagDeliveries"].get(key, [])
                if len(copies) == 2:  # the sender's own copy and the other member's
                    deliveries.append((t0 + max(copies) * 1000 - sent_ns) / 1e6)
        total = len(receipts) * (members - 1)
        acked = sum(r["receiptsAcked"] for r in storm)
        receipt_ms = merge([r["receiptHistogram"] for r in storm])
        seconds = (storm_end - storm_start) / 1e9
        return {
            "receipts": total, "not_acked": total - acked,
            "refused": sum(r["receiptsRefused"] for r in storm),
            "seconds": seconds, "per_second": acked / seconds,
            "receipt_ack_p50": percentile(receipt_ms, 0.5) or float("nan"),
            "receipt_ack_p99": percentile(receipt_ms, 0.99) or float("nan"),
            "pair_p50": statistics.median(acks) if acks else float("nan"),
            "pair_p99": pct(acks, 99) if acks else float("nan"),
            "pair_delivery_p50": statistics.median(deliveries) if deliveries else float("nan"),
            "pair_delivery_p99": pct(deliveries, 99) if deliveries else float("nan"),
            "pair_sends": len(acks), "pair_lost": len(acks) - len(deliveries),
            "projection_tail_s": tail,
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", action="store_true",
                        help="a real server, clients in other processes (see above)")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    if args.sockets:
        r = over_sockets(args.pg_url, args.members, args.messages)
        print(f"| members | receipts | not acked in {ACK_TIMEOUT_S:.0f} s | refused | seconds |"
              " receipts/s | receipt ack p50 / p99 ms | pair ack p50 / p99 ms |"
              " pair delivery p50 / p99 ms | pair sends (lost) | projections caught up after s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {args.members} | {r['receipts']:,.0f} | {r['not_acked']:.0f}"
              f" | {r['refused']:.0f} | {r['seconds']:.2f} | {r['per_second']:,.0f}"
              f" | {r['receipt_ack_p50']:.1f} / {r['receipt_ack_p99']:.1f}"
              f" | {r['pair_p50']:.1f} / {r['pair_p99']:.1f}"
              f" | {r['pair_delivery_p50']:.1f} / {r['pair_delivery_p99']:.1f}"
              f" | {r['pair_sends']:.0f} ({r['pair_lost']:.0f}) | {r['projection_tail_s']:.2f} |")
        return
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
