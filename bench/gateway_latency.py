"""End-to-end latency: send-message by one member to new-message at another,
through a real `eschat serve` (separate process) and python-socketio clients.

    .venv/bin/python bench/gateway_latency.py [--rate 50] [--seconds 10] [--backend sqlite|postgres]
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import PG_URL, reset_postgres, start_server  # noqa: E402


async def measure(url: str, alice: str, bob: str, chat_id: str, rate: float,
                  seconds: float) -> tuple[list[float], list[float]]:
    received: dict[str, float] = {}
    sent_at: dict[str, float] = {}
    ack_latency: list[float] = []
    receiver = socketio.AsyncClient()
    # One sender per 10 messages/s: the per-connection limit is 20/s.
    senders = [socketio.AsyncClient() for _ in range(max(1, int(rate // 10)))]
    failures = 0

    @receiver.on("new-message")
    async def on_message(message: dict[str, str]) -> None:
        received[message["content"]] = time.perf_counter()

    await receiver.connect(url, auth={"token": bob, "recovery": False}, transports=["websocket"])
    for sender in senders:
        await sender.connect(url, auth={"token": alice, "recovery": False},
                             transports=["websocket"])

    async def send(i: int) -> None:
        nonlocal failures
        key = f"m{i}"
        sent_at[key] = time.perf_counter()
        ack = await senders[i % len(senders)].call(
            "send-message", {"chatId": chat_id, "content": key}, timeout=10)
        ack_latency.append(time.perf_counter() - sent_at[key])
        if not ack.get("success"):
            failures += 1

    tasks = []
    for i in range(int(rate * seconds)):
        tasks.append(asyncio.create_task(send(i)))
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*tasks)
    await asyncio.sleep(1)
    for sender in senders:
        await sender.disconnect()
    await receiver.disconnect()
    if failures:
        print(f"{failures} sends were refused")
    latencies = [received[k] - sent_at[k] for k in sent_at if k in received]
    return latencies, ack_latency


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000 if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50, help="messages per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp())
    if args.backend == "postgres":
        reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{data}/bench.db"
    server = start_server(data, url)
    try:
        alice, bob = server.token("alice"), server.token("bob")
        chat = httpx.post(f"{server.url}/api/chats", json={"memberIds": ["bob"]},
                          headers={"Authorization": f"Bearer {alice}"}).json()["id"]
        latencies, acks = asyncio.run(measure(server.url, alice, bob, chat, args.rate,
                                              args.seconds))
    finally:
        server.stop()
    total = int(args.rate * args.seconds)
    print(f"backend={args.backend} rate={args.rate}/s sent={total} received={len(latencies)}")
    print(f"send->new-message at the other member: p50 {pct(latencies, 50):.1f} ms, "
          f"p99 {pct(latencies, 99):.1f} ms, max {max(latencies) * 1000:.1f} ms")
    print(f"send->ack (durable commit): p50 {pct(acks, 50):.1f} ms, p99 {pct(acks, 99):.1f} ms")


if __name__ == "__main__":
    main()
