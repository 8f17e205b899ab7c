"""Smoke test of `eschat bench message-aging` at a tiny size on SQLite: it seeds a
message's history, every measured command stores a real change (the bench asserts
it), and the table has a row per size and a column per command. Never how fast."""

import subprocess
import sys

from tests.conftest import ROOT

COLUMNS = ["edit ack", "reaction ack", "pin ack", "send ack", "edit applied",
           "reaction applied", "pin applied", "send applied"]


def test_message_aging_measures_every_command_at_every_size() -> None:
    out = subprocess.run([sys.executable, "-m", "interfaces.cli", "bench", "message-aging",
                          "--sizes", "0,21", "--backends", "sqlite"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("|")]
    assert lines[0] == "| history | " + " | ".join(COLUMNS) + " |"
    rows = [line.split(" | ") for line in lines[2:]]
    assert [r[0] for r in rows] == ["| 0", "| 21"]
    for row in rows:
        cells = [c.strip(" |") for c in row[1:]]
        assert len(cells) == len(COLUMNS)
        assert all(float(a) > 0 and float(b) > 0 for a, b in (c.split(" / ") for c in cells))
