"""The SQL of presence (rules: application/projections/presence.py): connections,
node ids, last seen. Leases are rows of node_leases (infrastructure/presence_leases.py)."""

from collections.abc import Iterable
from typing import Any

from application.projections.events import (
    ConnectionClosed,
    ConnectionOpened,
    NodeGone,
    ProjectedEvent,
)
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
from infrastructure.readmodels.common import FEED_COLUMNS, Projection, select_in
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


class _Batch:
    """The presence rows a batch reads, loaded in a few queries before it, kept in
    memory while its operations apply, and written at the end as what changed (one
    statement per kind). Reading row by row cost PostgreSQL 3-5 round trips per
    connection event. Rows stored before the batch are loaded per user (all of a
    user's connections, so counts are exact) and per node when a node goes."""

    def __init__(self, tx: Any, events: list[ProjectedEvent]) -> None:
        self._tx = tx
        self._conns: dict[str, tuple[str, str]] = {}  # id -> (user, node), known users'
        self._opened_at: dict[str, str] = {}  # of the connections opened in the batch
        self._of_user: dict[str, set[str]] = {}  # loaded user -> their connection ids
        self._stored: set[str] = set()  # ids of connections stored before the batch
        self._gone: set[str] = set()  # stored connections closed in the batch
        self._nodes_gone: list[str] = []  # node ids whose every connection went
        self._nodes: dict[str, str | None] = {}  # node key -> node id
        self._new_nodes: dict[str, str] = {}
        self._last_seen: dict[str, str] = {}
        self._shown: dict[str, bool] = {}
        self._hidden: dict[str, bool] = {}  # user -> lastSeen hidden (loaded or set)
        closed = [e.connection_id for e in events if isinstance(e, ConnectionClosed)]
        users = {e.user_id for e in events if isinstance(e, ConnectionOpened)}
        users.update(r[0] for r in select_in(
            tx, "SELECT DISTINCT user_id FROM rm_connections WHERE connection_id IN ({keys})",
            closed))
        self._load_users(users)
        keys = [e.node_key for e in events if isinstance(e, NodeGone)]
        self._nodes.update(dict.fromkeys(keys))
        self._nodes.update(select_in(tx, "SELECT node_key, node_id FROM rm_nodes"
                                     " WHERE node_key IN ({keys})", keys))

    def _load_users(self, users: Iterable[str]) -> None:
        wanted = [u for u in users if u not in self._of_user]
        for user_id in wanted:
            self._of_user[user_id] = set()
        for connection_id, user_id, node_id in select_in(
                self._tx, "SELECT connection_id, user_id, node_id FROM rm_connections"
                " WHERE user_id IN ({keys})", wanted):
            if connection_id not in self._gone and node_id not in self._nodes_gone:
                self._stored.add(connection_id)
                self._conns[connection_id] = (user_id, node_id)
                self._of_user[user_id].add(connection_id)
        for user_id, shown in select_in(
                self._tx, "SELECT user_id, shown FROM rm_last_seen_privacy"
                " WHERE user_id IN ({keys})", wanted):
            self._hidden.setdefault(user_id, not shown)

    # -- PresenceState: the rows as they are before the event at hand --------------
    def connections_of(self, user_id: str, except_node: str | None = None) -> int:
        self._load_users([user_id])
        ids = self._of_user[user_id]
        if except_node is None:
            return len(ids)
        return sum(1 for c in ids if self._conns[c][1] != except_node)

    def connection_user(self, connection_id: str) -> str | None:
        found = self._conns.get(connection_id)
        return found[0] if found else None

    def node_id(self, node_key: str) -> str | None:
        return self._new_nodes.get(node_key) or self._nodes.get(node_key)

    def users_on(self, node_id: str) -> list[str]:
        stored = self._tx.fetchall("SELECT DISTINCT user_id FROM rm_connections"
                                   " WHERE node_id = %s", (node_id,))
        self._load_users(r[0] for r in stored)
        return sorted({u for u, ids in self._of_user.items()
                       if any(self._conns[c][1] == node_id for c in ids)})

    def last_seen_hidden(self, user_id: str) -> bool:
        self._load_users([user_id])
        return self._hidden.get(user_id, False)

    # -- the operations ------------------------------------------------------------
    def apply(self, op: PresenceOp) -> None:
        if isinstance(op, OpenConnection):
            if op.connection_id not in self._conns:  # ON CONFLICT DO NOTHING
                self._conns[op.connection_id] = (op.user_id, op.node_id)
                self._opened_at[op.connection_id] = op.opened_at
                self._of_user.setdefault(op.user_id, set()).add(op.connection_id)
        elif isinstance(op, CloseConnection):
            self._close(op.connection_id)
        elif isinstance(op, CloseNode):
            self._nodes_gone.append(op.node_id)
            for connection_id in [c for c, (_, n) in self._conns.items() if n == op.node_id]:
                self._close(connection_id)
        elif isinstance(op, AddNode):
            if self.node_id(op.node_key) is None:
                self._new_nodes[op.node_key] = op.node_id
        elif isinstance(op, LastSeen):
            self._last_seen[op.user_id] = op.at
        elif isinstance(op, LastSeenShown):
            self._shown[op.user_id] = op.shown
            self._hidden[op.user_id] = not op.shown

    def _close(self, connection_id: str) -> None:
        found = self._conns.pop(connection_id, None)
        if found is not None:
            self._of_user[found[0]].discard(connection_id)
            if connection_id in self._stored:
                self._gone.add(connection_id)

    def write(self) -> None:
        tx = self._tx
        if self._nodes_gone:
            tx.executemany(_WRITE[CloseNode], [(n,) for n in dict.fromkeys(self._nodes_gone)])
        if self._gone:
            tx.executemany(_WRITE[CloseConnection], [(c,) for c in sorted(self._gone)])
        opened = [OpenConnection(c, u, n, self._opened_at[c])
                  for c, (u, n) in self._conns.items() if c not in self._stored]
        if opened:
            tx.executemany(_WRITE[OpenConnection], opened)
        if self._new_nodes:
            tx.executemany(_WRITE[AddNode], list(self._new_nodes.items()))
        if self._last_seen:
            tx.executemany(_WRITE[LastSeen], list(self._last_seen.items()))
        if self._shown:
            tx.executemany(_WRITE[LastSeenShown],
                           [(u, int(shown)) for u, shown in self._shown.items()])


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
        events = typed(changes, TOPICS)
        if not events:
            return
        batch, feed = _Batch(tx, events), FeedRows(self.name)
        for event in events:
            # Each event's operations before the next event reads the rows.
            for op in self.projection.project(event, batch, feed):
                batch.apply(op)
        batch.write()
        if feed.rows:
            tx.insert("rm_feed", FEED_COLUMNS, feed.rows)
