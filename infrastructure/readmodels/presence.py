"""The SQL of presence (rules: application/projections/presence.py): connections,
node ids, last seen. Leases are rows of node_leases (infrastructure/presence_leases.py)."""

from typing import Any

from application.projections.feed_rows import FeedRows
from application.projections.presence import (
    AddNode,
    CloseConnection,
    CloseNode,
    LastSeen,
    LastSeenShown,
    OpenConnection,
    PresenceOp,
    PresenceProjection,
)
from infrastructure.readmodels.common import FEED_COLUMNS, Projection
from infrastructure.stored_events import (
    CONNECTION_CLOSED,
    CONNECTION_OPENED,
    NODE_RESTARTED,
    NODE_STARTED,
    NODE_STOPPED,
    PRIVACY_CHANGED,
    Change,
    typed,
)

TOPICS = frozenset({CONNECTION_OPENED, CONNECTION_CLOSED, NODE_STARTED, NODE_RESTARTED,
                    NODE_STOPPED, PRIVACY_CHANGED})

_WRITE = {
    OpenConnection: "INSERT INTO rm_connections (connection_id, user_id, node_id, opened_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
    CloseConnection: "DELETE FROM rm_connections WHERE connection_id = %s",
    CloseNode: "DELETE FROM rm_connections WHERE node_id = %s",
    # lease_until is no longer kept here (leases are rows of node_leases); the column
    # stays so read models of earlier releases keep their shape.
    AddNode: "INSERT INTO rm_nodes (node_key, node_id, lease_until) VALUES (%s, %s, 0)"
             " ON CONFLICT (node_key) DO NOTHING",
    LastSeen: "INSERT INTO rm_last_seen (user_id, last_seen) VALUES (%s, %s)"
              " ON CONFLICT (user_id) DO UPDATE SET last_seen = excluded.last_seen",
    LastSeenShown: "INSERT INTO rm_last_seen_privacy (user_id, shown) VALUES (%s, %s)"
                   " ON CONFLICT (user_id) DO UPDATE SET shown = excluded.shown",
}


class _State:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def connections_of(self, user_id: str, except_node: str | None = None) -> int:
        if except_node is None:
            row = self._tx.fetchone("SELECT COUNT(*) FROM rm_connections WHERE user_id = %s",
                                    (user_id,))
        else:
            row = self._tx.fetchone("SELECT COUNT(*) FROM rm_connections WHERE user_id = %s"
                                    " AND node_id <> %s", (user_id, except_node))
        return int(row[0]) if row else 0

    def connection_user(self, connection_id: str) -> str | None:
        row = self._tx.fetchone("SELECT user_id FROM rm_connections WHERE connection_id = %s",
                                (connection_id,))
        return str(row[0]) if row else None

    def node_id(self, node_key: str) -> str | None:
        row = self._tx.fetchone("SELECT node_id FROM rm_nodes WHERE node_key = %s", (node_key,))
        return str(row[0]) if row else None

    def users_on(self, node_id: str) -> list[str]:
        rows = self._tx.fetchall("SELECT DISTINCT user_id FROM rm_connections"
                                 " WHERE node_id = %s ORDER BY user_id", (node_id,))
        return [str(r[0]) for r in rows]

    def last_seen_hidden(self, user_id: str) -> bool:
        row = self._tx.fetchone("SELECT shown FROM rm_last_seen_privacy WHERE user_id = %s",
                                (user_id,))
        return row is not None and not row[0]


class PresenceView(Projection):
    name = "presence"
    tables = ["rm_connections", "rm_nodes", "rm_last_seen", "rm_last_seen_privacy"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_connections (connection_id TEXT PRIMARY KEY,"
        " user_id TEXT NOT NULL, node_id TEXT NOT NULL, opened_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_connections_user ON rm_connections (user_id)",
        "CREATE TABLE IF NOT EXISTS rm_nodes (node_key TEXT PRIMARY KEY, node_id TEXT NOT NULL,"
        " lease_until DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE IF NOT EXISTS rm_last_seen (user_id TEXT PRIMARY KEY,"
        " last_seen TEXT NOT NULL)",
        # The lastSeen setting (issue 18): shown 0 while the user hides it.
        "CREATE TABLE IF NOT EXISTS rm_last_seen_privacy (user_id TEXT PRIMARY KEY,"
        " shown INTEGER NOT NULL)",
    ]

    def __init__(self) -> None:
        self.projection = PresenceProjection()

    def apply(self, tx: Any, changes: list[Change]) -> None:
        state, feed = _State(tx), FeedRows(self.name)
        for event in typed(changes, TOPICS):
            # Each event's operations before the next event reads the rows.
            for op in self.projection.project(event, state, feed):
                self.write(tx, op)
        if feed.rows:
            tx.insert("rm_feed", FEED_COLUMNS, feed.rows)

    @staticmethod
    def write(tx: Any, op: PresenceOp) -> None:
        if isinstance(op, LastSeenShown):
            tx.execute(_WRITE[LastSeenShown], (op.user_id, int(op.shown)))
            return
        tx.execute(_WRITE[type(op)], op)
