"""Shared pieces of the read models: the tracking table and the feed."""

import json
from collections.abc import Callable
from typing import Any

from application.views import iso
from infrastructure.readmodels.database import Database

TRACKING_DDL = [
    "CREATE TABLE IF NOT EXISTS rm_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
]

# The feed: every stored event as clients see it (socket event name + payload).
# It serves live fan-out on every node, connection-state recovery and /api/events.
FEED_DDL = [
    "CREATE TABLE IF NOT EXISTS rm_feed (position BIGINT NOT NULL, source TEXT NOT NULL,"
    " ordinal INTEGER NOT NULL, chat_id TEXT, user_id TEXT, type TEXT NOT NULL,"
    " payload TEXT NOT NULL, occurred_at TEXT NOT NULL,"
    " PRIMARY KEY (position, source, ordinal))",
    "CREATE INDEX IF NOT EXISTS rm_feed_chat ON rm_feed (chat_id, position)",
]


def to_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


class FeedWriter:
    """Appends feed rows for one event; the ordinal keeps several rows apart."""

    def __init__(self, tx: Any, source: str, position: int, occurred_at: str) -> None:
        self._tx = tx
        self._source = source
        self._position = position
        self._occurred_at = occurred_at
        self._ordinal = 0

    def add(self, type_: str, payload: dict[str, Any], chat_id: str | None = None,
            user_id: str | None = None) -> None:
        self._tx.execute(
            "INSERT INTO rm_feed (position, source, ordinal, chat_id, user_id, type, payload,"
            " occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (self._position, self._source, self._ordinal, chat_id, user_id, type_,
             to_json(payload), self._occurred_at),
        )
        self._ordinal += 1


class Projection:
    """A read model built only from events. Subclasses list their tables' DDL and
    handle the event types they care about."""

    name: str = ""
    ddl: list[str] = []
    tables: list[str] = []

    def handlers(self) -> dict[type, Callable[..., None]]:
        raise NotImplementedError

    def process(self, tx: Any, event: Any, position: int) -> None:
        handler = self.handlers().get(type(event))
        if handler is not None:
            feed = FeedWriter(tx, self.name, position, iso(event.timestamp))
            handler(tx, event, position, feed)


def create_schema(db: Database, projections: list[Projection]) -> None:
    with db.transaction() as tx:
        for statement in TRACKING_DDL + FEED_DDL:
            tx.execute(statement)
        for projection in projections:
            for statement in projection.ddl:
                tx.execute(statement)
            tx.execute(
                "INSERT INTO rm_tracking (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (projection.name,),
            )
