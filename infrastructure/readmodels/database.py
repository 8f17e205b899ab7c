"""One small SQL layer for read models on SQLite and PostgreSQL.

SQL is written once with `%s` placeholders and ON CONFLICT upserts, which both
databases understand; SQLite gets `?` placeholders."""

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from infrastructure.database_url import DatabaseLocation, PostgresLocation, SqliteLocation

Row = tuple[Any, ...]

REBUILD_CACHE_KIB = -512 * 1024  # negative: KiB, as SQLite's cache_size takes it


class Tx(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        ...
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    @property
    def rowcount(self) -> int: ...


class _Tx:
    """A cursor with the small API the read models use. SQL arrives with `%s`
    placeholders; `_sql` adapts it to the driver."""

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def _sql(self, sql: str) -> str:
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cur.executemany(self._sql(sql), rows)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Plain INSERT of many rows (no conflict handling)."""
        marks = ", ".join(["%s"] * len(columns))
        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cur.execute(self._sql(sql), tuple(params))
        return [tuple(r) for r in self._cur.fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self._cur.execute(self._sql(sql), tuple(params))
        row = self._cur.fetchone()
        return tuple(row) if row is not None else None

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)


class _PostgresTx(_Tx):
    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        # COPY streams the rows in one command: no statement per row.
        with self._cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


class _SqliteTx(_Tx):
    def _sql(self, sql: str) -> str:
        # SQLite serializes writers with BEGIN IMMEDIATE; it has no row locks.
        return sql.replace("%s", "?").replace(" FOR UPDATE", "")


class Database:
    """Read-model database: `with db.transaction() as tx:` commits or rolls back."""

    dialect: str

    def transaction(self, readonly: bool = False) -> Any: ...
    def close(self) -> None: ...

    @contextmanager
    def recomputable(self) -> Iterator[None]:
        """Writes on this thread may trade durability for speed (a rebuild: a crash
        loses nothing that replaying the log cannot recompute)."""
        yield


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def recomputable(self) -> Iterator[None]:
        conn = self._conn()
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        # No fsync, and the indexes of a million rows in memory rather than re-read
        # from the file at every insert (the default cache is 2 MB).
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(f"PRAGMA cache_size={REBUILD_CACHE_KIB}")
        try:
            yield
        finally:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA cache_size={int(cache)}")

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[Tx]:
        conn = self._conn()
        # IMMEDIATE takes the write lock up front, so two writers never deadlock
        # on a lock upgrade; readers need no lock until they read.
        conn.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
        try:
            yield _SqliteTx(conn.cursor())
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, conninfo: str) -> None:
        # Asynchronous commit: everything here is derived from the event log, and each
        # projection's tracking position commits with its rows, so a crash can only
        # lose both together and they are re-applied from the log. Saves a WAL flush
        # per projection batch (most of the projection latency), as SQLite's
        # synchronous=NORMAL does for its read models.
        self.conninfo = conninfo
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=8, open=True,
                                    kwargs={"autocommit": False,
                                            "options": "-c synchronous_commit=off"})

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[Tx]:
        with self._pool.connection() as conn:
            if readonly:
                # Each statement on its own, in autocommit: one round trip, where BEGIN,
                # the read and COMMIT took three (half of a connect's read-model time in
                # a reconnect storm). Under READ COMMITTED every statement sees its own
                # snapshot inside a transaction too, so no reader loses anything.
                conn.autocommit = True
                try:
                    yield _PostgresTx(conn.cursor())
                finally:
                    if not conn.broken:  # a lost connection: the pool drops it anyway,
                        conn.autocommit = False  # and the read's own error goes up
            else:
                with conn.transaction():
                    yield _PostgresTx(conn.cursor())

    def close(self) -> None:
        self._pool.close()


def open_database(location: DatabaseLocation) -> Database:
    if isinstance(location, SqliteLocation):
        location.readmodels_path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(str(location.readmodels_path))
    assert isinstance(location, PostgresLocation)
    return PostgresDatabase(location.conninfo)
