"""Scenario 5, history queries: pages of `limit` messages ending at a random
`before`, like a client scrolling back, from load generator processes (httpx).
eschat: `GET /api/chats/{id}/messages`; the node + pg peer: `GET /history`."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import psycopg

from bench.servers import BenchError, Server

if TYPE_CHECKING:
    from bench.scenarios import Sizes


@dataclass
class Target:
    base_url: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    low: int   # seqs of the chat are in (low, high]
    high: int


def prepare(server: Server, count: int) -> Target:
    """One chat of `count` messages, stored the server's own way."""
    if server.name == "node-socketio-pg":
        assert server.database_url is not None
        with psycopg.connect(server.database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO bench_node_messages (id, chat_id, sender_id, content,"
                " client_message_id, created_at) SELECT gen_random_uuid(), 'h0', 'h0u0',"
                " 'message ' || i, 'c' || i, now() FROM generate_series(1, %s) AS i", (count,))
            low, high = conn.execute("SELECT min(seq) - 1, max(seq) FROM bench_node_messages"
                                     " WHERE chat_id = 'h0'").fetchone() or (0, 0)
        return Target(server.http_url, "/history", {"chat": "h0"}, {}, low, high)
    rooms, auth = server.make_rooms([2], "h")
    chat_id, sender = rooms[0].chat_id, rooms[0].members[0]
    high = seed(server, sender, chat_id, count)
    with httpx.Client(base_url=server.http_url, timeout=60) as http:
        server.wait_projected(http, timeout=600)
    return Target(server.http_url, f"/api/chats/{chat_id}/messages", {},
                  {"Authorization": f"Bearer {auth[sender]['token']}"}, high - count, high)


def seed(server: Server, sender: str, chat_id: str, count: int) -> int:
    """Sends `count` messages through ChatService beside the running server
    (its group-commit writer batches them); returns the last seq."""
    from bench.servers import JWT_SECRET
    from infrastructure.settings import load_settings
    from interfaces.server import bootstrap

    settings = load_settings({}, database_url=server.database_url, jwt_secret=JWT_SECRET,
                             data_dir=str(server.data_dir / "seeder"), node_id="bench-seeder")
    container = bootstrap(settings)
    container.writer.start()

    async def send_all() -> int:
        last = 0
        for start in range(0, count, 5000):
            results = await asyncio.gather(*(
                container.service.send_message(sender, chat_id, f"message {i}", f"c{i}",
                                               wait=False)
                for i in range(start, min(count, start + 5000))))
            last = max(last, *(r.message.seq for r in results))
        return last

    try:
        return asyncio.run(send_all())
    finally:
        container.close()


def worker(job: tuple[Target, float, int, int, int, list[int] | None]) -> dict[str, Any]:
    target, seconds, concurrency, limit, seed_, cores = job
    if cores:
        os.sched_setaffinity(0, cores)
    rng = random.Random(seed_)

    async def run() -> dict[str, Any]:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=target.base_url, headers=target.headers,
                                     limits=limits, timeout=30) as client:
            deadline = time.perf_counter() + seconds

            async def loop() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    before = rng.randint(target.low + 2, target.high + 1)
                    params = {**target.params, "before": str(before), "limit": str(limit)}
                    t0 = time.perf_counter()
                    response = await client.get(target.path, params=params)
                    latencies.append(time.perf_counter() - t0)
                    if response.status_code != 200 or not response.json()["messages"]:
                        errors += 1

            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(loop() for _ in range(concurrency)))
            load = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        return {"latencies": latencies, "errors": errors, "load": load}

    return asyncio.run(run())


def run(target: Target, sizes: Sizes, cores: set[int] | None) -> dict[str, Any]:
    procs = max(1, min(sizes.loadgen_procs, sizes.history_concurrency))
    per_process = max(1, sizes.history_concurrency // procs)
    jobs = [(target, sizes.seconds, per_process, sizes.history_limit, i,
             sorted(cores) if cores else None) for i in range(procs)]
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        results = pool.map(worker, jobs)
    latencies = sorted(x for r in results for x in r["latencies"])
    if not latencies:
        raise BenchError("history: no request completed")
    loads = [r["load"] for r in results]

    def pct(q: float) -> float:
        return float(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000)

    return {"requests": len(latencies), "errors": sum(r["errors"] for r in results),
            "requests_per_s": len(latencies) / sizes.seconds,
            "in_flight": per_process * procs, "limit": sizes.history_limit,
            "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "loadgen_cpu": [round(x, 2) for x in loads],
            "loadgen_saturated": max(loads) >= 0.9 or sum(loads) >= 0.9 * len(cores or [0, 1])}
