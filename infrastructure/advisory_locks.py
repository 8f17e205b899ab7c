"""PostgreSQL advisory locks that coordinate the nodes sharing one store.

- `schema_lock`: nodes starting together (`eschat serve --workers N`) would race on
  `CREATE TABLE IF NOT EXISTS`, which PostgreSQL does not make safe against a
  concurrent twin (duplicate pg_type rows); creation is done one node at a time.
- `ProjectionLeadership`: the node holding the lock applies the projections for the
  whole cluster; the others only follow the read models' positions. The lock lives on a
  connection of its own, so when the leader dies its session ends, the lock is free and
  the next node to ask takes the work over.
- `rebuild_lock`: one `eschat projections rebuild` at a time per store (on SQLite, a
  file lock beside the read models). A second one refuses to start.
"""

import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg

from infrastructure.database_url import DatabaseLocation, PostgresLocation
from infrastructure.readmodels.database import Database, PostgresDatabase, SqliteDatabase

log = logging.getLogger(__name__)

# Arbitrary, fixed 64-bit keys; "eschat" in ASCII keeps them recognisable in pg_locks.
SCHEMA_LOCK_KEY = 0x657363686174_01
PROJECTIONS_LOCK_KEY = 0x657363686174_02
REBUILD_LOCK_KEY = 0x657363686174_03
LIVENESS_CHECK_S = 1.0


@contextmanager
def schema_lock(location: DatabaseLocation) -> Iterator[None]:
    if not isinstance(location, PostgresLocation):
        yield  # SQLite: one process owns the store
        return
    with psycopg.connect(location.conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        yield  # the lock ends with the connection


class ProjectionLeadership:
    """`is_leader()` is cheap to call every cycle: it asks PostgreSQL for the lock
    while it does not hold it, and checks its connection once a second while it does."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False
        self._checked = 0.0

    def is_leader(self) -> bool:
        now = time.monotonic()
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._conninfo, autocommit=True)
                self._held = False
            if not self._held:
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)",
                                         (PROJECTIONS_LOCK_KEY,)).fetchone()
                self._held = bool(row and row[0])
                if self._held:
                    log.info("this node now applies the projections for the cluster")
            elif now - self._checked > LIVENESS_CHECK_S:
                self._conn.execute("SELECT 1")
            self._checked = now
        except psycopg.Error:
            log.warning("lost the projection lock's connection; following until it is back")
            self.release()
        return self._held

    def release(self) -> None:
        self._held = False
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with suppress(psycopg.Error):
                conn.close()


class SoleLeader:
    """SQLite: the only node is always the leader."""

    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        pass


class RebuildBusy(Exception):
    """Another rebuild holds the store's rebuild lock."""


_APP_NAME = "eschat rebuild, "  # PostgreSQL shows it in pg_stat_activity


def _holder() -> str:
    return f"process {os.getpid()} on {socket.gethostname()}"


@contextmanager
def rebuild_lock(db: Database) -> Iterator[None]:
    """Held for the whole of a rebuild; raises RebuildBusy at once if another process
    (or thread) holds it. The lock ends with its holder, even one that crashed."""
    if isinstance(db, PostgresDatabase):
        with psycopg.connect(db.conninfo, autocommit=True,
                             application_name=_APP_NAME + _holder()) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)",
                               (REBUILD_LOCK_KEY,)).fetchone()
            if not (row and row[0]):
                holder = conn.execute(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                    " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                    " AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
                    (REBUILD_LOCK_KEY,)).fetchone()
                raise RebuildBusy(holder[0].removeprefix(_APP_NAME) if holder
                                  else "another session")
            yield  # the lock ends with the connection
        return
    assert isinstance(db, SqliteDatabase)
    with open(db.path + ".rebuild-lock", "a+") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            raise RebuildBusy(file.read().strip() or "another process") from None
        file.truncate(0)
        file.write(_holder())
        file.flush()
        try:
            yield
        finally:
            file.truncate(0)
            fcntl.flock(file, fcntl.LOCK_UN)
