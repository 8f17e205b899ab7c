"""The relay's own tracked position, kept in the store's database, and the lock
that lets only one relay of a deployment publish at a time.

The position lives in its own table (`kafka_relay_tracking`), not in
`rm_tracking`: the projection runner treats every `rm_tracking` row as a
projection, and a rebuild of the read models must never reset the relay."""

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any, Protocol

import psycopg

from infrastructure.readmodels.database import Database

log = logging.getLogger(__name__)

DDL = (
    "CREATE TABLE IF NOT EXISTS kafka_relay_tracking"
    " (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)


class RelayTracking:
    def __init__(self, db: Database, name: str) -> None:
        self._db = db
        self.name = name

    def create(self) -> None:
        with self._db.transaction() as tx:
            tx.execute(DDL)
            tx.execute(
                "INSERT INTO kafka_relay_tracking (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (self.name,),
            )

    def load(self) -> int:
        with self._db.transaction(readonly=True) as tx:
            row = tx.fetchone("SELECT position FROM kafka_relay_tracking WHERE name = %s",
                              (self.name,))
        return int(row[0]) if row else 0

    def advance(self, expected: int, position: int) -> bool:
        """Moves the position from `expected` to `position`; False when another
        relay moved it meanwhile (then nothing changes)."""
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE kafka_relay_tracking SET position = %s WHERE name = %s AND position = %s",
                (position, self.name, expected),
            )
            return bool(tx.rowcount == 1)


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...
    def release(self) -> None: ...


class PostgresLeaderLock:
    """A session advisory lock on a connection of its own: held while the
    connection lives, released by PostgreSQL when the process dies."""

    def __init__(self, conninfo: str, name: str) -> None:
        self._conninfo = conninfo
        self._name = name
        self._conn: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error:
                log.warning("relay lock connection lost")
                self.release()
        conn = psycopg.connect(self._conninfo, autocommit=True)
        row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))",
                           ("eschat-kafka-relay:" + self._name,)).fetchone()
        if row and row[0]:
            self._conn = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


class FileLeaderLock:
    """An exclusive flock beside the SQLite files, released when the process dies."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
