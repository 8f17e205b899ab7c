"""Smoke test of `eschat bench insert-shapes` (bench/insert_shapes.py) on PostgreSQL: it
stores through the store's insert and node + INSERT's statement and prints both
timings. It checks the numbers are there, never how fast they are."""

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_the_insert_shapes_bench_stores_and_prints_both_timings(postgres_url: str) -> None:
    out = subprocess.run([sys.executable, "bench/insert_shapes.py", "--database-url",
                          postgres_url, "--count", "30", "--rounds", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)
    line = re.search(r"round 1: the store's insert ([\d,]+) / ([\d,]+) / ([\d,]+);"
                     r" node \+ INSERT's ([\d,]+) / ([\d,]+) / ([\d,]+)", out.stdout)
    assert line, out.stdout
    figures = [int(g.replace(",", "")) for g in line.groups()]
    for p50, p90, p99 in (figures[:3], figures[3:]):
        assert 0 < p50 <= p90 <= p99
