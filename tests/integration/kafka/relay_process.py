"""`eschat relay` as a separate process, and a way to hold its position update."""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from infrastructure.database_url import SqliteLocation, parse_database_url

ROOT = Path(__file__).resolve().parents[3]


def start_relay(database_url: str, data_dir: Path, bootstrap: str,
                topic: str) -> "subprocess.Popen[bytes]":
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCHAT_")}
    env.update({"ESCHAT_DATABASE_URL": database_url, "ESCHAT_KAFKA_BOOTSTRAP": bootstrap,
                "ESCHAT_KAFKA_TOPIC": topic, "ESCHAT_DATA_DIR": str(data_dir),
                "PYTHONPATH": str(ROOT)})
    log = (data_dir / "relay.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "interfaces.cli", "relay"], env=env,
                            cwd=data_dir, stdout=log, stderr=subprocess.STDOUT)


def tracked_position(database_url: str, name: str = "kafka-relay") -> int | None:
    location = parse_database_url(database_url)
    sql = "SELECT position FROM kafka_relay_tracking WHERE name = %s"
    try:
        if isinstance(location, SqliteLocation):
            with sqlite3.connect(location.readmodels_path, timeout=5) as conn:
                row = conn.execute(sql.replace("%s", "?"), (name,)).fetchone()
        else:
            with psycopg.connect(location.conninfo) as pg:
                row = pg.execute(sql, (name,)).fetchone()
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
        return None
    return int(row[0]) if row else None


@contextmanager
def position_update_held(database_url: str, name: str = "kafka-relay") -> Iterator[None]:
    """Blocks every writer of the relay's tracking row until the block ends:
    a row lock on PostgreSQL, the database write lock on SQLite."""
    location = parse_database_url(database_url)
    if isinstance(location, SqliteLocation):
        conn = sqlite3.connect(location.readmodels_path, timeout=5, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        with psycopg.connect(location.conninfo) as pg:
            pg.execute("SELECT position FROM kafka_relay_tracking WHERE name = %s FOR UPDATE",
                       (name,))
            try:
                yield
            finally:
                pg.rollback()
