"""The five scenarios, each against one running server. Every function returns
plain dicts (rows of the report); a scenario that does not apply to a server
returns a row with `na` set to the reason."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from bench.loadgen import LOG_STEP
from bench.servers import ROOT, BenchError, Server, child_setup, cpu_seconds, reset_postgres

Row = dict[str, Any]


@dataclass
class Sizes:
    rooms: int = 100                # scenario 1: rooms of `room_size`, every member sends
    room_size: int = 10
    rooms_rate: float = 500         # fixed offered load (messages/s, all senders together)
    fanout_members: int = 1000      # scenario 2: one room, few senders
    fanout_senders: int = 10
    fanout_rate: float = 20         # messages/s: x members = deliveries/s offered
    idle: int = 10_000              # scenario 3
    rebuild_events: int = 1_000_000  # scenario 4
    history_messages: int = 10_000  # scenario 5
    history_concurrency: int = 32
    history_limit: int = 50
    seconds: float = 15             # each measured run
    warmup: float = 2               # excluded from the window at the start of each run
    window: int = 1                 # closed loop: outstanding acks per sender
    max_rate_per_sender: float = 19  # eschat's contract: 20 sends/s per connection
    content_size: int = 100
    loadgen_procs: int = 2
    drain: float = 10               # at most, after a run, for acks and deliveries in flight
    quiet: float = 1.0              # a run's drain ends after this long without a frame


TINY = Sizes(rooms=2, room_size=3, rooms_rate=20, fanout_members=20, fanout_senders=2,
             fanout_rate=5, idle=50, rebuild_events=500, history_messages=200,
             history_concurrency=4, seconds=1.0, warmup=0.2, loadgen_procs=2, drain=5)


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """Milliseconds at quantile q of a 1%-bucket histogram (bucket midpoint)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = q * total, 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return math.exp((bucket + 0.5) * LOG_STEP) / 1000
    return None


def merge(histograms: list[dict[str, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for h in histograms:
        for k, n in h.items():
            merged[int(k)] = merged.get(int(k), 0) + n
    return merged


class Loadgens:
    """Load generator processes, pinned to the load generator's cores."""

    def __init__(self, server: Server, clients: list[dict[str, Any]], procs: int,
                 cores: set[int] | None, mode: str = "chat", content_size: int = 100) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        procs = max(1, min(procs, len(clients)))
        for p in range(procs):
            job = {"url": server.ws_url, "mode": mode, "process": p,
                   "clients": clients[p::procs], "contentSize": content_size}
            proc = subprocess.Popen([sys.executable, "-m", "bench.loadgen"], cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                    preexec_fn=child_setup(cores))
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(job) + "\n")
            proc.stdin.flush()
            self.procs.append(proc)
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "READY":
                self.close()
                raise BenchError(f"{server.name}: load generator: {line or 'exited'}\n"
                                 f"{server.log()}")

    def go(self, params: dict[str, Any]) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("GO " + json.dumps(params) + "\n")
            proc.stdin.flush()

    def results(self) -> list[dict[str, Any]]:
        out = []
        for proc in self.procs:
            assert proc.stdout is not None
            out.append(json.loads(proc.stdout.readline()))
        return out

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def per_pid_cpu(procs: list[Any]) -> dict[int, float]:
    return {p.pid: cpu_seconds([p]) for p in procs}


def sleep_until(ns: int) -> None:
    time.sleep(max(0.0, (ns - time.monotonic_ns()) / 1e9))


def measured_run(server: Server, gens: Loadgens, sizes: Sizes, params: dict[str, Any],
                 loadgen_cores: int) -> Row:
    """One run: GO to every load generator, server and database CPU over the window."""
    start = time.monotonic_ns() + 100_000_000
    end = start + int(sizes.seconds * 1e9)
    gens.go({**params, "startNs": start, "endNs": end, "warmupS": sizes.warmup,
             "drainS": sizes.drain, "quietS": sizes.quiet})
    sleep_until(start + int(sizes.warmup * 1e9))
    procs = server.procs()
    cpu0, db0 = cpu_seconds(procs), per_pid_cpu(server.db_procs())
    sleep_until(end)
    cpu = cpu_seconds(procs) - cpu0
    # Per backend: one opened during the window counts from zero.
    db_end = per_pid_cpu(server.db_procs())
    db_cpu = sum(t - db0.get(pid, 0.0) for pid, t in db_end.items())
    results = gens.results()
    window = results[0]["windowS"]
    acked_w = sum(r["ackedInWindow"] for r in results)
    latency = merge([r["histogram"] for r in results])
    acks = merge([r["ackHistogram"] for r in results])
    loads = [r["cpuS"] / r["wallS"] for r in results if r["wallS"]]
    per_k = 1000 / acked_w if acked_w else None
    return {
        "acks_per_s": acked_w / window, "deliveries_per_s":
            sum(r["deliveriesInWindow"] for r in results) / window,
        "latency_ms": {f"p{q}": percentile(latency, q / 100 if q < 100 else 0.999)
                       for q in (50, 99, 999)},
        "ack_ms": {"p50": percentile(acks, 0.5), "p99": percentile(acks, 0.99)},
        "server_cpu_s_per_1k": cpu * per_k if per_k else None,
        "db_cpu_s_per_1k": db_cpu * per_k if per_k and db_end else None,
        "loadgen_cpu": [round(x, 2) for x in loads],
        "loadgen_saturated": max(loads, default=0) >= 0.9
                             or sum(loads) >= 0.9 * loadgen_cores,
        **{k: sum(r[k] for r in results) for k in
           ("sent", "acked", "refused", "unacked", "deliveries", "expectedDeliveries",
            "disconnected")},
        "refusals": {k: v for r in results for k, v in r["refusals"].items()},
        "window_s": window,
    }


def chat_scenario(server: Server, sizes: Sizes, scenario: str, cores: set[int] | None,
                  loadgen_cores: int) -> list[Row]:
    """Scenario 1 (`rooms`) or 2 (`fanout`): a closed-loop run, then a fixed-rate run."""
    if scenario == "rooms":
        rooms, auth = server.make_rooms([sizes.room_size] * sizes.rooms, "r")
        senders = {u for room in rooms for u in room.members}
        rate = sizes.rooms_rate
    else:
        rooms, auth = server.make_rooms([sizes.fanout_members], "f")
        senders = set(rooms[0].members[:sizes.fanout_senders])
        rate = sizes.fanout_rate
    clients = [{"auth": auth[u], "chatId": room.chat_id if u in senders else None,
                "roomSize": len(room.members)} for room in rooms for u in room.members]
    gens = Loadgens(server, clients, sizes.loadgen_procs, cores,
                    content_size=sizes.content_size)
    rows = []
    try:
        for mode, params in (
            ("throughput", {"window": sizes.window}),
            ("fixed-rate", {"ratePerSender": rate / len(senders)}),
        ):
            row = measured_run(server, gens, sizes, {**params, "maxRatePerSender":
                                                     sizes.max_rate_per_sender}, loadgen_cores)
            offered = (f"closed loop, {sizes.window} in flight/sender, "
                       f"<= {sizes.max_rate_per_sender:g}/s/sender") if mode == "throughput" \
                else f"{rate:g} msg/s"
            rows.append({"server": server.name, "scenario": scenario, "mode": mode,
                         "clients": len(clients), "senders": len(senders),
                         "offered": offered, **row})
    finally:
        gens.close()
    return rows


def idle_scenario(server: Server, sizes: Sizes, cores: set[int] | None) -> Row:
    """Scenario 3: RSS per idle connection = (RSS with N connections - before) / N."""
    if server.is_eschat:
        token = server.eschat_users(["idle"])["idle"]
        auth: dict[str, Any] = {"token": token, "recovery": False}
    else:
        auth = {"userId": "idle", "rooms": []}
    time.sleep(0.5)
    before = server.rss_bytes()
    started = time.monotonic()
    gens = Loadgens(server, [{"auth": auth}] * sizes.idle, sizes.loadgen_procs, cores,
                    mode="idle")
    connect_s = time.monotonic() - started
    try:
        time.sleep(min(2.0, sizes.seconds))  # let allocations settle
        after = server.rss_bytes()
    finally:
        gens.close()
    return {"server": server.name, "scenario": "idle", "connections": sizes.idle,
            "rss_before_mib": before / 2**20, "rss_after_mib": after / 2**20,
            "rss_per_conn_kib": (after - before) / sizes.idle / 1024,
            "connects_per_s": sizes.idle / connect_s}


def rebuild_scenario(server_name: str, sizes: Sizes, pg_url: str) -> Row:
    """Scenario 4: `bench/rebuild_speed.py` seeds N events and times the rebuild."""
    if server_name == "eschat-sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='eschat-rebuild-')}/eschat.db"
    elif server_name == "eschat-postgres":
        reset_postgres(pg_url)
        url = pg_url
    else:
        return {"server": server_name, "scenario": "rebuild", "na": "no event store"}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "rebuild_speed.py"),
                          "--events", str(sizes.rebuild_events), "--database-url", url],
                         cwd=ROOT, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise BenchError(f"rebuild_speed.py failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return {"server": server_name, "scenario": "rebuild", **result}


def history_scenario(server: Server, sizes: Sizes, cores: set[int] | None) -> Row:
    """Scenario 5: pages of history, random `before`, N requests in flight."""
    from bench import history

    if not (server.is_eschat or server.name == "node-socketio-pg"):
        return {"server": server.name, "scenario": "history", "na": "stores nothing"}
    target = history.prepare(server, sizes.history_messages)
    result = history.run(target, sizes, cores)
    return {"server": server.name, "scenario": "history", "messages": sizes.history_messages,
            **result}
