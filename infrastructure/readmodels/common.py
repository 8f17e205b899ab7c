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

    def apply(self, tx: Any, changes: list[Change]) -> None:
        """Applies a batch of changes in store order, within the caller's transaction."""
        raise NotImplementedError


_INDEX_ON = re.compile(r"^CREATE (?:UNIQUE )?INDEX IF NOT EXISTS \w+ ON (\w+)")


def existing_tables(tx: Any, dialect: str) -> set[str]:
    if dialect == "sqlite":
        rows = tx.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = tx.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {r[0] for r in rows}


def create_schema(db: Database, projections: list[Projection]) -> None:
    """Creates what is missing. A table that exists keeps the indexes it has: one
    swapped in by a rebuild carries them under the rebuild's names."""
    with db.transaction() as tx:
        existing = existing_tables(tx, db.dialect)
        statements = TRACKING_DDL + FEED_DDL + FEED_INDEXES
        for projection in projections:
            statements = statements + projection.ddl + projection.indexes
        for statement in statements:
            on = _INDEX_ON.match(statement)
            if on is None or on.group(1) not in existing:
                tx.execute(statement)
        for projection in projections:
            tx.execute(
                "INSERT INTO rm_tracking (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (projection.name,),
            )


def select_in(tx: Any, sql: str, keys: Iterable[Any], chunk: int = 500) -> list[tuple[Any, ...]]:
    """Rows of `sql`, whose `{keys}` stands for an IN list, for any number of keys."""
    keys = list(keys)
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(keys), chunk):
        part = keys[i:i + chunk]
        rows.extend(tx.fetchall(sql.format(keys=",".join(["%s"] * len(part))), part))
    return rows
