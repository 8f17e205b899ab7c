"""Presence: live connections per user and node, node leases, last seen."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from application.views import iso
from domain.presence import Connection, Node
from infrastructure.readmodels.common import FeedWriter, Projection


class PresenceProjection(Projection):
    name = "presence"
    tables = ["rm_connections", "rm_nodes", "rm_last_seen"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_connections (connection_id TEXT PRIMARY KEY,"
        " user_id TEXT NOT NULL, node_id TEXT NOT NULL, opened_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_connections_user ON rm_connections (user_id)",
        # lease_until is epoch seconds taken from the heartbeat event's own time,
        # so a rebuild reproduces it exactly.
        "CREATE TABLE IF NOT EXISTS rm_nodes (node_key TEXT PRIMARY KEY, node_id TEXT NOT NULL,"
        " lease_until DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE IF NOT EXISTS rm_last_seen (user_id TEXT PRIMARY KEY,"
        " last_seen TEXT NOT NULL)",
    ]

    def handlers(self) -> dict[type, Callable[..., None]]:
        return {
            Connection.Opened: self._opened,  # type: ignore[attr-defined]
            Connection.Closed: self._closed,  # type: ignore[attr-defined]
            Node.Started: self._started,  # type: ignore[attr-defined]
            Node.Restarted: self._restarted,  # type: ignore[attr-defined]
            Node.Heartbeat: self._lease,  # type: ignore[attr-defined]
            Node.Stopped: self._node_stopped,  # type: ignore[attr-defined]
        }

    @staticmethod
    def _count(tx: Any, user_id: str) -> int:
        row = tx.fetchone("SELECT COUNT(*) FROM rm_connections WHERE user_id = %s", (user_id,))
        return int(row[0]) if row else 0

    def _opened(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        first = self._count(tx, e.user_id) == 0
        tx.execute(
            "INSERT INTO rm_connections (connection_id, user_id, node_id, opened_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (str(e.originator_id), e.user_id, e.node_id, iso(e.timestamp)),
        )
        if first:
            feed.add("user-online", {"userId": e.user_id}, user_id=e.user_id)

    def _went_away(self, tx: Any, user_id: str, e: Any, feed: FeedWriter) -> None:
        if self._count(tx, user_id) == 0:
            last_seen = iso(e.timestamp)
            tx.execute(
                "INSERT INTO rm_last_seen (user_id, last_seen) VALUES (%s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET last_seen = excluded.last_seen",
                (user_id, last_seen),
            )
            feed.add("user-offline", {"userId": user_id, "lastSeen": last_seen}, user_id=user_id)

    def _closed(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        row = tx.fetchone("SELECT user_id FROM rm_connections WHERE connection_id = %s",
                          (str(e.originator_id),))
        if row is None:
            return
        tx.execute("DELETE FROM rm_connections WHERE connection_id = %s", (str(e.originator_id),))
        self._went_away(tx, row[0], e, feed)

    def _started(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        tx.execute(
            "INSERT INTO rm_nodes (node_key, node_id, lease_until) VALUES (%s, %s, %s)"
            " ON CONFLICT (node_key) DO NOTHING",
            (str(e.originator_id), e.node_id, 0.0),
        )
        self._lease(tx, e, position, feed)

    def _lease(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        until = (e.timestamp + timedelta(seconds=e.lease_seconds)).timestamp()
        tx.execute("UPDATE rm_nodes SET lease_until = %s WHERE node_key = %s",
                   (until, str(e.originator_id)))

    def _drop_connections(self, tx: Any, e: Any, feed: FeedWriter) -> None:
        node = tx.fetchone("SELECT node_id FROM rm_nodes WHERE node_key = %s",
                           (str(e.originator_id),))
        if node is None:
            return
        users = tx.fetchall(
            "SELECT DISTINCT user_id FROM rm_connections WHERE node_id = %s ORDER BY user_id",
            (node[0],),
        )
        tx.execute("DELETE FROM rm_connections WHERE node_id = %s", (node[0],))
        for (user_id,) in users:
            self._went_away(tx, user_id, e, feed)

    def _restarted(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        self._drop_connections(tx, e, feed)
        self._lease(tx, e, position, feed)

    def _node_stopped(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        self._drop_connections(tx, e, feed)
        tx.execute("UPDATE rm_nodes SET lease_until = 0 WHERE node_key = %s",
                   (str(e.originator_id),))
