"""Smoke test of `eschat bench as-of` (bench/as_of.py) at a tiny size on SQLite: it
seeds, answers every query (each page checked against the seeding) and prints its
table. It checks the numbers are there, never how fast they are."""

import subprocess
import sys

from tests.conftest import ROOT


def test_the_as_of_bench_answers_and_prints_p50_and_p99() -> None:
    out = subprocess.run([sys.executable, "bench/as_of.py", "--events", "1500", "--queries",
                          "5", "--backends", "sqlite"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True)
    rows = [line.split("|")[1:-1] for line in out.stdout.splitlines()
            if line.startswith("| sqlite")]
    assert [r[2].strip() for r in rows] == ["history page (alice)", "history page (carol)",
                                            "chat"]
    for r in rows:
        p50, p99 = float(r[3]), float(r[4])
        assert 0 < p50 <= p99
