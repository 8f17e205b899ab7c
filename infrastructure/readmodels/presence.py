"""Presence: live connections per user and node, node leases, last seen."""

from typing import Any

from application.feed import ServerEvent, UserOffline, UserOnline
from domain.presence import Connection, Node
from infrastructure.readmodels.common import Feed, Handler, Projection
from infrastructure.stored_events import Change


class PresenceProjection(Projection):
    name = "presence"
    tables = ["rm_connections", "rm_nodes", "rm_last_seen"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_connections (connection_id TEXT PRIMARY KEY,"
        " user_id TEXT NOT NULL, node_id TEXT NOT NULL, opened_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_connections_user ON rm_connections (user_id)",
        # Which node ids exist. lease_until is no longer kept here (it was taken from
        # Heartbeat events): leases are rows of node_leases (infrastructure/presence_leases.py).
        "CREATE TABLE IF NOT EXISTS rm_nodes (node_key TEXT PRIMARY KEY, node_id TEXT NOT NULL,"
        " lease_until DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE IF NOT EXISTS rm_last_seen (user_id TEXT PRIMARY KEY,"
        " last_seen TEXT NOT NULL)",
    ]

    def handlers(self) -> dict[type, Handler]:
        return {
            Connection.Opened: self._opened,
            Connection.Closed: self._closed,
            Node.Started: self._started,
            Node.Restarted: self._restarted,
            Node.Stopped: self._node_stopped,
        }

    @staticmethod
    def _count(tx: Any, user_id: str) -> int:
        row = tx.fetchone("SELECT COUNT(*) FROM rm_connections WHERE user_id = %s", (user_id,))
        return int(row[0]) if row else 0

    def _opened(self, tx: Any, e: Change, feed: Feed) -> None:
        user_id = e.state.user_id
        first = self._count(tx, user_id) == 0
        tx.execute(
            "INSERT INTO rm_connections (connection_id, user_id, node_id, opened_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, user_id, e.state.node_id, e.at),
        )
        if first:
            feed.add(e, ServerEvent.USER_ONLINE, UserOnline(user_id=user_id), user_id=user_id)

    def _went_away(self, tx: Any, user_id: str, e: Change, feed: Feed) -> None:
        if self._count(tx, user_id) == 0:
            tx.execute(
                "INSERT INTO rm_last_seen (user_id, last_seen) VALUES (%s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET last_seen = excluded.last_seen",
                (user_id, e.at),
            )
            feed.add(e, ServerEvent.USER_OFFLINE, UserOffline(user_id=user_id, last_seen=e.at),
                     user_id=user_id)

    def _closed(self, tx: Any, e: Change, feed: Feed) -> None:
        row = tx.fetchone("SELECT user_id FROM rm_connections WHERE connection_id = %s",
                          (e.originator_id,))
        if row is None:
            return
        tx.execute("DELETE FROM rm_connections WHERE connection_id = %s", (e.originator_id,))
        self._went_away(tx, row[0], e, feed)

    def _started(self, tx: Any, e: Change, feed: Feed) -> None:
        tx.execute(
            "INSERT INTO rm_nodes (node_key, node_id, lease_until) VALUES (%s, %s, %s)"
            " ON CONFLICT (node_key) DO NOTHING",
            (e.originator_id, e.state.node_id, 0.0),
        )

    def _drop_connections(self, tx: Any, e: Change, feed: Feed) -> None:
        node = tx.fetchone("SELECT node_id FROM rm_nodes WHERE node_key = %s",
                           (e.originator_id,))
        if node is None:
            return
        users = tx.fetchall(
            "SELECT DISTINCT user_id FROM rm_connections WHERE node_id = %s ORDER BY user_id",
            (node[0],),
        )
        tx.execute("DELETE FROM rm_connections WHERE node_id = %s", (node[0],))
        for (user_id,) in users:
            self._went_away(tx, user_id, e, feed)

    def _restarted(self, tx: Any, e: Change, feed: Feed) -> None:
        self._drop_connections(tx, e, feed)

    def _node_stopped(self, tx: Any, e: Change, feed: Feed) -> None:
        self._drop_connections(tx, e, feed)
