"""Smoke test of `python -m bench`: every scenario at tiny size against
eschat-sqlite and every peer. It checks that the numbers are real (messages
acked, deliveries counted, latencies and RSS measured), never how fast they are.

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


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    if not (ROOT / "bench" / "peers" / "node" / "node_modules" / "socket.io").exists():
        pytest.fail("run `npm ci --prefix bench/peers/node` (scripts/test.sh does)")
    out = tmp_path_factory.mktemp("bench")
    procs = {}
    for server in SERVERS:
        # Only one bench process may use the PostgreSQL database: it drops its tables.
        procs[server] = subprocess.Popen(
            [sys.executable, "-m", "bench", "--tiny", "--no-pin", "--servers", server,
             "--pg-url", PG_URL, "--json", str(out / f"{server}.json")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    results = {}
    for server, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=110)
        assert proc.returncode == 0, f"{server}:\n{stderr[-3000:]}"
        assert "| rooms | throughput |" in stdout and "### Targets" in stdout
        results[server] = json.loads((out / f"{server}.json").read_text())["rows"]
    return results


def of(rows: list[dict[str, Any]], scenario: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["scenario"] == scenario]


@pytest.mark.parametrize("server", SERVERS)
def test_every_sent_message_is_acked_and_delivered_with_latencies(
        rows: dict[str, list[dict[str, Any]]], server: str) -> None:
    chat = of(rows[server], "rooms") + of(rows[server], "fanout")
    assert {(r["scenario"], r["mode"]) for r in chat} == {
        (s, m) for s in ("rooms", "fanout") for m in ("throughput", "fixed-rate")}
    for r in chat:
        assert r["sent"] > 0 and r["acked"] == r["sent"] and r["refused"] == 0, r
        assert r["unacked"] == 0 and r["disconnected"] == 0, r
        assert r["deliveries"] == r["expectedDeliveries"] > 0, r
        assert r["acks_per_s"] > 0 and r["deliveries_per_s"] > 0, r
        assert all(v is not None and v > 0 for v in r["latency_ms"].values()), r
        assert r["server_cpu_s_per_1k"] is not None, r
        assert isinstance(r["loadgen_saturated"], bool), r


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
