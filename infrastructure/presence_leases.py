"""Node leases as rows with an expiry (the application's NodeLeases port).

One row per node id, renewed in place at every heartbeat: the cost of a renewal
never grows, and it runs off the writer thread. The table lives beside the
presence read model (same database on PostgreSQL, the read-model file on SQLite) so
presence can join it, but it is not a read model: a rebuild leaves it alone. A node
whose row expired (or that has none: a store written before leases were rows, whose
old Heartbeat events are ignored) no longer counts."""

import time

from infrastructure.peers import Peers
from infrastructure.readmodels.database import Database

DDL = ("CREATE TABLE IF NOT EXISTS node_leases (node_id TEXT PRIMARY KEY,"
       " lease_until DOUBLE PRECISION NOT NULL)")
OTHERS = ("SELECT 1 FROM node_leases WHERE node_id <> %s AND lease_until >= %s"
          " LIMIT 1")
# Rows of nodes gone for this long are deleted, so the table holds live nodes only.
FORGET_AFTER_S = 86_400.0


class SqlNodeLeases:
    def __init__(self, db: Database, peers: Peers | None = None) -> None:
        self._db = db
        self._peers = peers  # told at each renewal whether another node holds a lease
        with db.transaction() as tx:
            tx.execute(DDL)

    def renew(self, node_id: str, lease_seconds: float) -> None:
        now = time.time()
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO node_leases (node_id, lease_until) VALUES (%s, %s)"
                " ON CONFLICT (node_id) DO UPDATE SET lease_until = excluded.lease_until",
                (node_id, now + lease_seconds))
            tx.execute("DELETE FROM node_leases WHERE lease_until < %s",
                       (now - FORGET_AFTER_S,))
            if self._peers is not None:
                self._peers.leases_checked(bool(tx.fetchall(OTHERS, (node_id, now))))

    def others_alive(self, node_id: str) -> bool:
        """Whether a node other than `node_id` holds a live lease."""
        with self._db.transaction() as tx:
            return bool(tx.fetchall(OTHERS, (node_id, time.time())))

    def drop(self, node_id: str) -> None:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM node_leases WHERE node_id = %s", (node_id,))
