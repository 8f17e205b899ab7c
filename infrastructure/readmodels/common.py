"""Shared pieces of the read models: the tracking table, the feed table, the view base."""

import re
from collections.abc import Iterable
from typing import Any

from infrastructure.readmodels.database import Database
from infrastructure.stored_events import Change

TRACKING_DDL = [
    "CREATE TABLE IF NOT EXISTS rm_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    # The rebuild under way (at most one; infrastructure/rebuild.py) and those that switched.
    "CREATE TABLE IF NOT EXISTS rm_rebuild (id BIGINT PRIMARY KEY, projections TEXT NOT NULL,"
    " position BIGINT NOT NULL, head BIGINT NOT NULL, started_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rm_rebuild_log (id BIGINT PRIMARY KEY,"
    " projections TEXT NOT NULL, position BIGINT NOT NULL, started_at TEXT NOT NULL,"
    " switched_at TEXT NOT NULL)",
]

# The feed: every stored event as clients see it (socket event name + payload).
# It serves live fan-out on every node, connection-state recovery and /api/events.
FEED_DDL = [
    "CREATE TABLE IF NOT EXISTS rm_feed (position BIGINT NOT NULL, source TEXT NOT NULL,"
    " ordinal INTEGER NOT NULL, chat_id TEXT, user_id TEXT, type TEXT NOT NULL,"
    " payload TEXT NOT NULL, occurred_at TEXT NOT NULL,"
    " PRIMARY KEY (position, source, ordinal))",
]
FEED_INDEXES = ["CREATE INDEX IF NOT EXISTS rm_feed_chat ON rm_feed (chat_id, position)"]


FEED_COLUMNS = ("position", "source", "ordinal", "chat_id", "user_id", "type", "payload",
                "occurred_at")


class Projection:
    """The view of one read model: its tables and their DDL, and `apply`, which
    writes what its pure projection (application/projections/) makes of a batch."""

    name: str = ""
    ddl: list[str] = []
    # Indexes that applying events does not use: a rebuild creates them after its
    # load, sorting once instead of updating them row by row.
    indexes: list[str] = []
    tables: list[str] = []
    # Columns added to a table after its first release: (table, column, definition).
    # A live table of an earlier release gets them by ALTER TABLE, with the default
    # that replaying its events would give; then `upgrade_indexes` are created.
    added_columns: list[tuple[str, str, str]] = []
    upgrade_indexes: list[str] = []

    def apply(self, tx: Any, changes: list[Change]) -> None:
        """Applies a batch of changes in store order, within the caller's transaction."""
        raise NotImplementedError


_INDEX_ON = re.compile(r"^CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+) ON (\w+)")
# What a rebuild adds to the names of its tables and indexes (infrastructure/rebuild.py).
REBUILD_SUFFIX = re.compile(r"__r\d+")


def existing_tables(tx: Any, dialect: str) -> set[str]:
    if dialect == "sqlite":
        rows = tx.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = tx.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {r[0] for r in rows}


def indexes_on(tx: Any, dialect: str, tables: Iterable[str]) -> set[str]:
    """The names of the indexes on `tables`: PostgreSQL's primary keys included,
    SQLite's automatic ones not (SQLite renames those with their table)."""
    if dialect == "sqlite":
        sql = ("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
               " AND tbl_name IN ({keys})")
    else:
        sql = ("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
               " AND tablename IN ({keys})")
    return {r[0] for r in select_in(tx, sql, tables)}


def give_indexes_live_names(tx: Any, dialect: str, tables: list[str],
                            statements: Iterable[str]) -> None:
    """After a rebuild's tables took the live names, their indexes take them too, so
    the schema is a fresh store's and the next rebuild or start-up finds every index
    by its name. PostgreSQL renames an index (and its primary-key constraint);
    SQLite cannot, so it drops the rebuild's index and builds the live one."""
    existing = indexes_on(tx, dialect, tables)
    present = {name for name in existing if REBUILD_SUFFIX.search(name) is None}
    for name in sorted(existing - present):
        live = REBUILD_SUFFIX.sub("", name)
        if dialect == "postgres" and live not in existing:
            tx.execute(f'ALTER INDEX "{name}" RENAME TO "{live}"')
            present.add(live)
        else:
            tx.execute(f'DROP INDEX "{name}"')
    for statement in statements:
        on = _INDEX_ON.match(statement)
        # Only what is missing: even with IF NOT EXISTS, PostgreSQL's CREATE INDEX takes a
        # SHARE lock on its table first, and a node starting while another projects into
        # those tables would deadlock with it.
        if on is not None and on.group(2) in tables and on.group(1) not in present:
            tx.execute(statement)


def create_schema(db: Database, projections: list[Projection]) -> None:
    """Creates what is missing. Indexes that a rebuild of an earlier release left
    under the rebuild's names get the live ones."""
    with db.transaction() as tx:
        existing = existing_tables(tx, db.dialect)
        statements = TRACKING_DDL + FEED_DDL + FEED_INDEXES
        tables = ["rm_feed"]
        for projection in projections:
            statements = statements + projection.ddl + projection.indexes
            tables += projection.tables
        for statement in statements:
            if _INDEX_ON.match(statement) is None:
                tx.execute(statement)
        # Columns of a later release before the indexes, which may cover them.
        for projection in projections:
            _add_columns(tx, db.dialect, projection, existing)
        give_indexes_live_names(tx, db.dialect, tables, statements)
        for projection in projections:
            tx.execute(
                "INSERT INTO rm_tracking (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (projection.name,),
            )


def _columns(tx: Any, dialect: str, table: str) -> set[str]:
    if dialect == "sqlite":
        return {r[1] for r in tx.fetchall(f"PRAGMA table_info({table})")}
    return {r[0] for r in tx.fetchall(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s", (table,))}


def _add_columns(tx: Any, dialect: str, projection: Projection, existing: set[str]) -> None:
    added = False
    for table, column, definition in projection.added_columns:
        if table in existing and column not in _columns(tx, dialect, table):
            tx.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            added = True
    if added:
        for statement in projection.upgrade_indexes:
            tx.execute(statement)


def select_in(tx: Any, sql: str, keys: Iterable[Any], chunk: int = 500) -> list[tuple[Any, ...]]:
    """Rows of `sql`, whose `{keys}` stands for an IN list, for any number of keys."""
    keys = list(keys)
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(keys), chunk):
        part = keys[i:i + chunk]
        rows.extend(tx.fetchall(sql.format(keys=",".join(["%s"] * len(part))), part))
    return rows
