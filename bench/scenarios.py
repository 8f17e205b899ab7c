"""The scenarios, each against one running server. Every function returns
plain dicts (rows of the report); a scenario that does not apply to a server
returns a row with `na` set to the reason.

Chat scenarios run with either load generator (`client`): `sio`, the stock
socket.io-client from npm with its default options over WebSocket
(`bench/peers/node/loadgen.mjs`; eschat gives it recovery offsets), or `raw`,
raw frames on picows (`bench/loadgen.py`; eschat clients opt out of offsets)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.loadgen import BUCKETS, LOG_STEP
from bench.servers import (
    NODE_DIR,
    ROOT,
    BenchError,
    Server,
    child_setup,
    cpu_seconds,
    reset_postgres,
)

Row = dict[str, Any]


@dataclass
class Sizes:
    rooms: int = 100                # scenario 1: rooms of `room_size`, every member sends
    room_size: int = 10
    rooms_rate: float = 500         # fixed offered load (messages/s, all senders together)
    fanout_members: int = 1000      # scenario 2: one room, few senders
    fanout_senders: int = 20
    fanout_rate: float = 20         # messages/s: x members = deliveries/s offered
    latency_rooms: int = 50         # p99 at a light fixed load: rooms of `room_size`,
    latency_rate: float = 100       # every member sends, messages/s all together
    storm_members: int = 1000       # reconnect storm: all connect into one room at once,
    storm_senders: int = 20         # then, `storm_settle` s after the last one connected,
    storm_settle: float = 2         # these send (closed loop) for `storm_seconds`
    storm_seconds: float = 10
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
    setup_pause: float = 1.0        # storm: between seeding the room and the first connect


TINY = Sizes(rooms=2, room_size=3, rooms_rate=20, fanout_members=20, fanout_senders=2,
             fanout_rate=5, latency_rooms=2, latency_rate=10, storm_members=20,
             storm_senders=2, storm_settle=0.3, storm_seconds=1.0, idle=50,
             rebuild_events=500, history_messages=200, history_concurrency=4, seconds=1.0,
             warmup=0.2, loadgen_procs=2, drain=5, quiet=0.4, setup_pause=0.2)
CLIENTS = ("sio", "raw")


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


def bucket(us: float) -> int:
    """The histogram bucket of bench/loadgen.py for `us` microseconds."""
    return min(BUCKETS - 1, int(math.log(max(us, 1.0)) / LOG_STEP))


def add_timelines(timelines: list[list[int]]) -> list[int]:
    out = [0] * max((len(t) for t in timelines), default=0)
    for t in timelines:
        for i, n in enumerate(t):
            out[i] += n
    return out


def delivery_lag(results: list[dict[str, Any]], members: int) -> Row:
    """For each message acked in the window, the lag from its ack to its delivery at
    each of the `members` of its room (the sender's own sockets included; a copy
    that came before the ack counts 0). A copy that never came counts as late."""
    acks: dict[str, int] = {}
    copies: dict[str, list[int]] = {}
    for r in results:
        acks.update(r.pop("lagAcks", {}))
        for key, times in r.pop("lagDeliveries", {}).items():
            copies.setdefault(key, []).extend(times)
    histogram: dict[int, int] = {}
    within = missing = 0
    worst = 0
    for key, acked_us in acks.items():
        times = copies.get(key, [])
        missing += max(0, members - len(times))
        for t in times:
            lag = max(0, t - acked_us)
            worst = max(worst, lag)
            within += lag <= 1_000_000
            b = bucket(lag)
            histogram[b] = histogram.get(b, 0) + 1
    expected = len(acks) * members
    return {"lag_ms": {"p50": percentile(histogram, 0.5), "p99": percentile(histogram, 0.99),
                       "max": worst / 1000 if acks else None},
            "lag_within_1s": within / expected if expected else None,
            "lag_missing": missing, "lag_messages": len(acks)}


def client_auth(auth: dict[str, Any], client: str) -> dict[str, Any]:
    """The stock client keeps eschat's default (recovery offsets on); the raw one opts out,
    so that its frames are the peers' frames."""
    return {k: v for k, v in auth.items() if k != "recovery"} if client == "sio" else auth


class Loadgens:
    """Load generator processes, pinned to the load generator's cores."""

    def __init__(self, server: Server, clients: list[dict[str, Any]], procs: int,
                 cores: set[int] | None, mode: str = "chat", content_size: int = 100,
                 client: str = "raw", connect_batch: int = 200) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.ready: list[dict[str, int]] = []
        procs = max(1, min(procs, len(clients)))
        if client == "sio":
            if not (NODE_DIR / "node_modules" / "socket.io-client").exists():
                raise BenchError(f"run `npm ci --prefix {NODE_DIR.relative_to(ROOT)}` first")
            cmd = ["node", str(NODE_DIR / "loadgen.mjs")]
        else:
            cmd = [sys.executable, "-m", "bench.loadgen"]
        for p in range(procs):
            job = {"url": server.ws_url, "httpUrl": server.http_url, "mode": mode,
                   "process": p, "contentSize": content_size, "connectBatch": connect_batch,
                   "clients": [{**c, "auth": client_auth(c["auth"], client)}
                               for c in clients[p::procs]]}
            proc = subprocess.Popen(cmd, cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                    preexec_fn=child_setup(cores))
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(job) + "\n")
            proc.stdin.flush()
            self.procs.append(proc)
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if not line.startswith("READY"):
                self.close()
                raise BenchError(f"{server.name}: load generator: {line or 'exited'}\n"
                                 f"{server.log()}")
            self.ready.append(json.loads(line[5:] or "{}"))

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
                 loadgen_cores: int, start: int | None = None, seconds: float | None = None,
                 warmup: float | None = None, lag_members: int = 0,
                 on_window: Callable[[], None] = lambda: None) -> Row:
    """One run: GO to every load generator, server and database CPU over the window.
    With `lag_members`, also the ack -> delivery lag (see `delivery_lag`)."""
    start = start or time.monotonic_ns() + 100_000_000
    seconds = sizes.seconds if seconds is None else seconds
    warmup = sizes.warmup if warmup is None else warmup
    end = start + int(seconds * 1e9)
    gens.go({**params, "startNs": start, "endNs": end, "warmupS": warmup,
             "drainS": sizes.drain, "quietS": sizes.quiet, "lag": bool(lag_members),
             "timelineS": 1.0})
    sleep_until(start + int(warmup * 1e9))
    on_window()
    procs = server.procs()
    cpu0, db0 = cpu_seconds(procs), per_pid_cpu(server.db_procs())
    sleep_until(end)
    cpu = cpu_seconds(procs) - cpu0
    # Per backend: one opened during the window counts from zero.
    db_end = per_pid_cpu(server.db_procs())
    db_cpu = sum(t - db0.get(pid, 0.0) for pid, t in db_end.items())
    results = gens.results()
    lag = delivery_lag(results, lag_members) if lag_members else {}
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
        "window_s": window, "presence_received": sum(r.get("presence", 0) for r in results),
        # the stock client reconnects by itself; the raw one does not
        "reconnects": sum(r.get("reconnects", 0) for r in results),
        "lost": sum(r.get("lost", 0) for r in results),
        "ack_timeline": add_timelines([r.get("ackTimeline", []) for r in results]),
        "delivery_timeline": add_timelines([r.get("deliveryTimeline", []) for r in results]),
        **lag,
    }


def no_mark(phase: str) -> None:
    """Where a profiler (bench --py-spy) starts a new profile; nothing without one."""


def chat_scenario(server: Server, sizes: Sizes, scenario: str, cores: set[int] | None,
                  loadgen_cores: int, client: str = "raw",
                  mark: Callable[[str], None] = no_mark) -> list[Row]:
    """`rooms` (a closed-loop run with the ack -> delivery lag, then a fixed-rate run),
    `latency` (one fixed-rate run at a light load) or `fanout` (closed loop, fixed rate)."""
    lag = 0
    if scenario in ("rooms", "latency"):
        count = sizes.rooms if scenario == "rooms" else sizes.latency_rooms
        rooms, auth = server.make_rooms([sizes.room_size] * count, scenario[0])
        senders = {u for room in rooms for u in room.members}
        rate = sizes.rooms_rate if scenario == "rooms" else sizes.latency_rate
        lag = sizes.room_size
    else:
        rooms, auth = server.make_rooms([sizes.fanout_members], "f")
        senders = set(rooms[0].members[:sizes.fanout_senders])
        rate = sizes.fanout_rate
    clients = [{"auth": auth[u], "chatId": room.chat_id if u in senders else None,
                "roomSize": len(room.members)} for room in rooms for u in room.members]
    mark("connect")
    gens = Loadgens(server, clients, sizes.loadgen_procs, cores,
                    content_size=sizes.content_size, client=client)
    runs: list[tuple[str, dict[str, Any]]] = [
        ("fixed-rate", {"ratePerSender": rate / len(senders)})]
    if scenario != "latency":
        runs.insert(0, ("throughput", {"window": sizes.window}))
    rows = []
    try:
        for mode, params in runs:
            row = measured_run(server, gens, sizes, {**params, "maxRatePerSender":
                                                     sizes.max_rate_per_sender}, loadgen_cores,
                               lag_members=lag if mode == "throughput" else 0,
                               on_window=lambda mode=mode: mark(mode))
            offered = (f"closed loop, {sizes.window} in flight/sender, "
                       f"<= {sizes.max_rate_per_sender:g}/s/sender") if mode == "throughput" \
                else f"{rate:g} msg/s"
            rows.append({"server": server.name, "scenario": scenario, "mode": mode,
                         "client": client, "durable": server.durable, "rooms": len(rooms),
                         "room_size": len(rooms[0].members),
                         "clients": len(clients), "senders": len(senders),
                         "offered": offered, **row})
    finally:
        gens.close()
    return rows


def pg_counters(server: Server) -> dict[str, dict[str, int]]:
    """PostgreSQL's own counters for the bench database: per table, index and
    sequential scans and rows written; `_db`: transactions committed. Deltas of
    them tell the stored work a phase did (they lag by up to a second)."""
    url = server.database_url
    if not url or not url.startswith("postgresql"):
        return {}
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        out = {t: {"scans": int(a or 0) + int(b or 0), "ins": int(i), "upd": int(u),
                   "del": int(d)}
               for t, a, b, i, u, d in conn.execute(
                   "SELECT relname, idx_scan, seq_scan, n_tup_ins, n_tup_upd, n_tup_del"
                   " FROM pg_stat_user_tables").fetchall()}
        (commits,) = conn.execute("SELECT xact_commit FROM pg_stat_database"
                                  " WHERE datname = current_database()").fetchone() or (0,)
    out["_db"] = {"commits": int(commits)}
    return out


def counter_delta(after: dict[str, dict[str, int]],
                  before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    out = {}
    for table, now in after.items():
        then = before.get(table, {})
        d = {k: v - then.get(k, 0) for k, v in now.items() if v - then.get(k, 0)}
        if d:
            out[table] = d
    return out


def storm_scenario(server: Server, sizes: Sizes, cores: set[int] | None, loadgen_cores: int,
                   client: str = "raw", mark: Callable[[str], None] = no_mark) -> Row:
    """Reconnect storm: every member of one room connects at once (no batching), and
    `storm_settle` s after the last one got `connected`, `storm_senders` of them send
    (closed loop) for `storm_seconds`, all of it measured (no warm-up)."""
    rooms, auth = server.make_rooms([sizes.storm_members], "s")
    members = rooms[0].members
    senders = set(members[:sizes.storm_senders])
    clients = [{"auth": auth[u], "chatId": rooms[0].chat_id if u in senders else None,
                "roomSize": len(members)} for u in members]
    time.sleep(sizes.setup_pause)  # the seeding's projections and PostgreSQL's counters settle
    counters = [pg_counters(server)]
    procs = server.procs()
    cpu0, db0 = cpu_seconds(procs), per_pid_cpu(server.db_procs())
    mark("connect")
    gens = Loadgens(server, clients, sizes.loadgen_procs, cores, content_size=sizes.content_size,
                    client=client, connect_batch=len(clients))
    try:
        first = min(r["firstConnectNs"] for r in gens.ready)
        last = max(r["lastConnectedNs"] for r in gens.ready)
        # The CPU the connects cost, up to the moment every client was connected.
        connect_cpu = cpu_seconds(procs) - cpu0
        connect_db_cpu = sum(t - db0.get(pid, 0.0)
                             for pid, t in per_pid_cpu(server.db_procs()).items())
        start = max(last + int(sizes.storm_settle * 1e9), time.monotonic_ns() + 100_000_000)
        mark("settle")

        def window() -> None:
            mark("window")
            counters.append(pg_counters(server))

        row = measured_run(server, gens, sizes, {"window": sizes.window, "maxRatePerSender":
                                                 sizes.max_rate_per_sender}, loadgen_cores,
                           start=start, seconds=sizes.storm_seconds, warmup=0,
                           on_window=window)
        counters.append(pg_counters(server))
    finally:
        gens.close()
    return {"server": server.name, "scenario": "storm", "mode": "throughput", "client": client,
            "durable": server.durable,
            "rooms": 1, "room_size": len(members), "clients": len(clients),
            "senders": len(senders),
            "offered": (f"{sizes.storm_settle:g} s after {len(members):,} connected at once, "
                        f"closed loop, <= {sizes.max_rate_per_sender:g}/s/sender"),
            "connect_s": (last - first) / 1e9,
            "connect_server_cpu_s": connect_cpu, "connect_db_cpu_s": connect_db_cpu,
            "settle_s": (start - last) / 1e9, **row,
            # PostgreSQL's work from the first connect to the window, then in the window
            "db_work_connect": counter_delta(counters[1], counters[0]) if counters[0] else {},
            "db_work_window": counter_delta(counters[2], counters[1]) if counters[0] else {}}


def idle_scenario(server: Server, sizes: Sizes, cores: set[int] | None,
                  client: str = "raw") -> Row:
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
                    mode="idle", client=client)
    connect_s = time.monotonic() - started
    try:
        time.sleep(min(2.0, sizes.seconds))  # let allocations settle
        after = server.rss_bytes()
    finally:
        gens.close()
    return {"server": server.name, "scenario": "idle", "client": client,
            "connections": sizes.idle,
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
