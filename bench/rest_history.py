"""History query throughput and latency through REST: a real `eschat serve`
(its own process) and a load generator in separate processes.

    .venv/bin/python bench/rest_history.py [--backend sqlite|postgres] [--seconds 10]
        [--processes 2] [--concurrency 32] [--limit 50] [--messages 10000] [--url URL]

Without --url it starts a server on an empty store (SQLite in a temp folder, or
the test PostgreSQL, which it resets) and seeds one chat with --messages
messages through ChatService. Each request reads one page ending at a random
seq (`before`), like a client scrolling back. Prints requests/s and p50/p90/p99.
"""

import argparse
import asyncio
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import PG_URL, reset_postgres, start_server  # noqa: E402
from tests.integration.rest.helpers import Api, new_chat  # noqa: E402
from tests.integration.rest.test_pagination import seed, wait_until_projected  # noqa: E402


def worker(args: tuple[str, str, str, int, int, float, int, int, int]) -> tuple[list[float], int]:
    url, token, chat_id, low, high, seconds, concurrency, limit, seed_ = args
    rng = random.Random(seed_)

    async def run() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            deadline = time.perf_counter() + seconds

            async def loop() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    before = rng.randint(low + 1, high + 1)
                    t0 = time.perf_counter()
                    response = await client.get(f"/api/chats/{chat_id}/messages",
                                                params={"before": before, "limit": limit})
                    latencies.append(time.perf_counter() - t0)
                    if response.status_code != 200 or not response.json()["messages"]:
                        errors += 1

            await asyncio.gather(*(loop() for _ in range(concurrency)))
        return latencies, errors

    return asyncio.run(run())


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--url", help="an already running server (then --token and --chat)")
    parser.add_argument("--token")
    parser.add_argument("--chat")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight, total")
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()

    server = None
    if args.url:
        url, token, chat_id = args.url, args.token, args.chat
        page = httpx.get(f"{url}/api/chats/{chat_id}/messages", params={"limit": 1},
                         headers={"Authorization": f"Bearer {token}"}).json()["messages"]
        high = page[-1]["seq"]
        low = 0
    else:
        tmp = Path(tempfile.mkdtemp(prefix="eschat-bench-"))
        if args.backend == "postgres":
            reset_postgres()
            database_url = PG_URL
        else:
            database_url = f"sqlite:///{tmp}/eschat.db"
        server = start_server(tmp / "node", database_url)
        api = Api(server.url)
        alice = api.user("alice")
        chat_id = new_chat(alice)["id"]
        token = alice.token
        print(f"seeding {args.messages} messages ({args.backend})...", flush=True)
    try:
        if server is not None:
            high = seed(database_url, tmp / "seeder", alice.id, chat_id, args.messages)
            wait_until_projected(api.http, high)
            low = high - args.messages
            url = server.url
        per_process = max(1, args.concurrency // args.processes)
        jobs = [(url, token, chat_id, low, high, args.seconds, per_process, args.limit, i)
                for i in range(args.processes)]
        print(f"load: {args.processes} processes x {per_process} in flight, "
              f"limit={args.limit}, {args.seconds:.0f}s", flush=True)
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.processes) as pool:
            results = pool.map(worker, jobs)
        latencies = sorted(x for lat, _ in results for x in lat)
        errors = sum(e for _, e in results)
        total = len(latencies)
        report: dict[str, Any] = {
            "requests": total,
            "errors": errors,
            "requests/s": round(total / args.seconds),
            "messages/s": round(total * args.limit / args.seconds),
            "p50 ms": round(percentile(latencies, 0.50) * 1000, 2),
            "p90 ms": round(percentile(latencies, 0.90) * 1000, 2),
            "p99 ms": round(percentile(latencies, 0.99) * 1000, 2),
            "max ms": round(latencies[-1] * 1000, 2),
            "mean ms": round(statistics.mean(latencies) * 1000, 2),
        }
        for key, value in report.items():
            print(f"{key:>12}: {value}")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
