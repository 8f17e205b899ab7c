"""Smoke test of `python -m bench`: every scenario at tiny size against
eschat-sqlite and every peer, the chat scenarios with both load generators (the
stock socket.io-client and the raw-frame one). It checks that the numbers are
real (messages acked, deliveries counted, latencies, lags and RSS measured),
never how fast they are.

One bench process per server, all at once, unpinned: the suite stays quick."""

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import PG_URL, ROOT

SERVERS = ("eschat-sqlite", "node-socketio", "node-socketio-pg", "python-socketio")
DURABLE = ("eschat-sqlite", "node-socketio-pg")
CLIENTS = ("sio", "raw")
# Four bench processes at once, each starting its server once per scenario and client.
pytestmark = pytest.mark.timeout(420)
RUNS = {("latency", "fixed-rate"), ("rooms", "throughput"), ("rooms", "fixed-rate"),
        ("fanout", "throughput"), ("fanout", "fixed-rate"), ("storm", "throughput")}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    if not (ROOT / "bench" / "peers" / "node" / "node_modules" / "socket.io-client").exists():
        pytest.fail("run `npm ci --prefix bench/peers/node` (scripts/test.sh does)")
    out = tmp_path_factory.mktemp("bench")
    procs = {}
    for server in SERVERS:
        # Only one bench process may use the PostgreSQL database: it drops its tables.
        procs[server] = subprocess.Popen(
            [sys.executable, "-m", "bench", "--tiny", "--no-pin", "--servers", server,
             "--client", ",".join(CLIENTS), "--pg-url", PG_URL,
             "--json", str(out / f"{server}.json")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    results = {}
    for server, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=400)
        assert proc.returncode == 0, f"{server}:\n{stderr[-3000:]}"
        assert "| rooms | throughput | sio |" in stdout and "### Targets" in stdout
        assert "load generator: stock socket.io-client" in stdout
        assert "load generator: raw frames" in stdout
        results[server] = json.loads((out / f"{server}.json").read_text())["rows"]
    return results


def of(rows: list[dict[str, Any]], scenario: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["scenario"] == scenario]


def chat(rows: list[dict[str, Any]], client: str) -> list[dict[str, Any]]:
    return [r for r in rows if (r["scenario"], r.get("mode")) in RUNS
            and r["client"] == client]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("server", SERVERS)
def test_every_sent_message_is_acked_and_delivered_with_latencies(
        rows: dict[str, list[dict[str, Any]]], server: str, client: str) -> None:
    runs = chat(rows[server], client)
    assert {(r["scenario"], r["mode"]) for r in runs} == RUNS
    for r in runs:
        assert r["sent"] > 0 and r["acked"] == r["sent"] and r["refused"] == 0, r
        assert r["unacked"] == 0 and r["disconnected"] == 0, r
        assert r["deliveries"] == r["expectedDeliveries"] > 0, r
        assert r["acks_per_s"] > 0 and r["deliveries_per_s"] > 0, r
        assert all(v is not None and v > 0 for v in r["latency_ms"].values()), r
        assert r["server_cpu_s_per_1k"] is not None, r
        assert isinstance(r["loadgen_saturated"], bool), r
        # Every ack of the run is in the per-second timeline (it starts with the run).
        assert sum(r["ack_timeline"]) == r["acked"], r


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("server", SERVERS)
def test_lag_from_ack_to_every_member_is_measured_at_saturation(
        rows: dict[str, list[dict[str, Any]]], server: str, client: str) -> None:
    (r,) = [r for r in chat(rows[server], client) if r["mode"] == "throughput"
            and r["scenario"] == "rooms"]
    assert r["lag_messages"] > 0 and r["lag_missing"] == 0, r
    assert all(r["lag_ms"][k] is not None for k in ("p50", "p99", "max")), r
    assert 0 < r["lag_within_1s"] <= 1, r


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("server", SERVERS)
def test_reconnect_storm_connects_everyone_at_once_then_sends_into_the_room(
        rows: dict[str, list[dict[str, Any]]], server: str, client: str) -> None:
    (r,) = [r for r in chat(rows[server], client) if r["scenario"] == "storm"]
    assert r["clients"] == r["room_size"] > r["senders"] > 0, r
    assert r["connect_s"] > 0 and r["settle_s"] > 0, r
    assert r["ack_ms"]["p99"] is not None and r["latency_ms"]["p99"] is not None, r


@pytest.mark.parametrize("server", SERVERS)
def test_idle_connections_cost_measured_memory(
        rows: dict[str, list[dict[str, Any]]], server: str) -> None:
    (idle,) = of(rows[server], "idle")
    assert idle["connections"] > 0 and idle["rss_after_mib"] > 0, idle


@pytest.mark.parametrize("server", SERVERS)
def test_rebuild_and_history_run_where_they_apply(
        rows: dict[str, list[dict[str, Any]]], server: str) -> None:
    (rebuild,) = of(rows[server], "rebuild")
    (history,) = of(rows[server], "history")
    if server == "eschat-sqlite":
        assert rebuild["events"] > 0 and rebuild["events_per_s"] > 0, rebuild
    else:
        assert rebuild["na"], rebuild
    if server in DURABLE:
        assert history["requests"] > 0 and history["errors"] == 0, history
        assert history["p99_ms"] > 0, history
    else:
        assert history["na"], history
