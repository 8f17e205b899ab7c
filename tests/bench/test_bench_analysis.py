"""The bench's own arithmetic, on hand-made load generator results: the ack ->
delivery lag (`bench.scenarios.delivery_lag`) and the py-spy profile report
(`bench.profile_report`)."""

from pathlib import Path

import pytest

from bench import profile_report, report
from bench.scenarios import delivery_lag


def result(acks: dict[str, int], copies: dict[str, list[int]]) -> dict[str, object]:
    return {"lagAcks": acks, "lagDeliveries": copies}


def test_lag_counts_each_copy_from_its_ack_across_load_generator_processes() -> None:
    # Message a acked at 1 ms by process 0; its 3 copies arrive in both processes.
    lag = delivery_lag([result({"a": 1_000}, {"a": [1_000 + 500]}),
                        result({}, {"a": [1_000 + 2_000, 1_000 + 1_500_000]})], members=3)
    assert lag["lag_messages"] == 1 and lag["lag_missing"] == 0
    assert lag["lag_within_1s"] == pytest.approx(2 / 3)
    assert lag["lag_ms"]["max"] == pytest.approx(1_500)
    assert lag["lag_ms"]["p50"] == pytest.approx(2.0, rel=0.02)  # 1 %-wide buckets


def test_a_copy_that_never_came_counts_as_late_and_one_before_the_ack_as_zero() -> None:
    lag = delivery_lag([result({"a": 5_000, "b": 5_000}, {"a": [4_000, 6_000], "b": []})],
                       members=2)
    assert lag["lag_missing"] == 2
    assert lag["lag_within_1s"] == pytest.approx(2 / 4)
    assert lag["lag_ms"]["max"] == pytest.approx(1.0)


def test_messages_sent_before_the_window_are_not_counted() -> None:
    lag = delivery_lag([result({}, {"early": [10, 20]})], members=2)
    assert lag["lag_messages"] == 0 and lag["lag_within_1s"] is None


def test_profile_report_sorts_samples_into_threads_and_stages(tmp_path: Path) -> None:
    profile = tmp_path / "p.txt"
    profile.write_text(
        "thread (1): MainThread;run (a.py:1);ChatGateway._fan_out (interfaces/gateway.py:9)"
        ";Namespace.emit (interfaces/socketio/namespace.py:3) 30\n"
        "thread (2): eschat-writer;GroupCommitWriter._run (application/writer.py:1)"
        ";GroupCommitWriter._try_batch (application/writer.py:5)"
        ";Application.save (eventsourcing/application.py:7);0x7f00 (libc.so.6) 10\n"
        "thread (3): asyncio_4;_WorkItem.run (concurrent/futures/thread.py:58) 10\n")
    stacks = profile_report.load(profile)
    text = profile_report.report(stacks, top=5, only=None, under=None)
    assert "50 samples" in text and "60.0%  MainThread" in text
    assert "20.0%  asyncio executor" in text
    assert "Application.save (eventsourcing/application.py)" in text  # self: native folded
    staged = profile_report.stages(stacks, per=100)
    assert "60.0%   3.000 ms  publish: fan-out from the feed" in staged
    assert "20.0%   1.000 ms  writer: save (eventsourcing + SQL)" in staged


def test_a_repeated_run_reports_each_groups_median_run_and_lists_every_run() -> None:
    def latency(server: str, p99: float, run: int) -> dict[str, object]:
        return {"server": server, "scenario": "latency", "mode": "fixed-rate", "client": "sio",
                "latency_ms": {"p50": p99 / 2, "p99": p99}, "run": run}

    def rooms(server: str, acks: float, run: int) -> dict[str, object]:
        return {"server": server, "scenario": "rooms", "mode": "throughput", "client": "sio",
                "acks_per_s": acks, "run": run}

    rows = [latency("eschat-postgres", 9.0, 0), rooms("eschat-postgres", 2_000, 0),
            latency("node-socketio-pg", 7.0, 0),
            latency("eschat-postgres", 15.0, 1), rooms("eschat-postgres", 3_000, 1),
            latency("node-socketio-pg", 6.0, 1),
            latency("eschat-postgres", 6.0, 2), rooms("eschat-postgres", 2_500, 2),
            latency("node-socketio-pg", 30.0, 2),
            {"server": "eschat-sqlite", "scenario": "idle", "run": 0},
            {"server": "eschat-sqlite", "scenario": "idle", "run": 1}]
    chosen = report.medians(rows)
    assert [(r["server"], r["scenario"], r["run"]) for r in chosen] == [
        ("eschat-postgres", "latency", 0),  # p99 9 of 6, 9, 15
        ("eschat-postgres", "rooms", 2),  # 2,500 acks/s of 2,000, 2,500, 3,000
        ("node-socketio-pg", "latency", 0),  # 7 of 6, 7, 30
        ("eschat-sqlite", "idle", 0),  # no figure to rank by: the first run
    ]
    spread = report.repeats(rows)
    assert "| eschat-postgres | latency fixed-rate (sio) | p99 ms | 9.0, 15.0, 6.0 | 9.0 |" \
        in spread
    assert "| eschat-postgres | rooms throughput (sio) | acks/s | 2,000, 3,000, 2,500 | 2,500 |" \
        in spread
    assert "idle" not in spread
    assert report.medians(rows[:3]) == rows[:3]  # one run: as it was
