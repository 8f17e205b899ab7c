"""Without SECURE_DELETE, SQLite keeps overwritten text in the file's free space: the
VACUUM that compaction falls back to then takes it out (infrastructure/erasure.py)."""

import sqlite3
from pathlib import Path

from infrastructure.sealing import checkpoint_and_vacuum

MARKER = b"SHREDDED-" + b"x" * 40


def test_vacuum_takes_overwritten_text_out_of_a_file_without_secure_delete(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA secure_delete=OFF")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, content TEXT)")
    conn.executemany("INSERT INTO t (content) VALUES (?)",
                     [(MARKER.decode() if i == 7 else f"row {i}" * 20,) for i in range(200)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("UPDATE t SET content = '' WHERE id = 8")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert MARKER in path.read_bytes()  # a freed cell still holds it
    checkpoint_and_vacuum(conn)
    conn.close()
    assert MARKER not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
