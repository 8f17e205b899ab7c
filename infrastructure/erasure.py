"""Erasure below the events: destroying keys, rewriting what was stored in plaintext,
dropping snapshots, and compacting files (the application's Shredder port).

Text stored before sealing existed (release 37b8bd6 and every release before issue 18)
is not sealed: the erasure of its author rewrites those events in place, the personal
field set to null (`content`, `display_name`), which every reader takes as erased. A
retention sweep does the same to every personal field of the messages it expires,
sealed or not (their author's key lives on). Snapshots of those messages are deleted:
a snapshot is only a shortcut, loading replays the events instead.

Compaction: on SQLite, each file of the store (events, read models, keys) is
checkpointed with TRUNCATE, so no WAL frame keeps overwritten bytes; a SQLite built without
SECURE_DELETE (which zeroes deleted and overwritten bytes in place) also VACUUMs each file,
so no free page or freed cell keeps them. On PostgreSQL the touched tables are VACUUMed: no
table answers the old rows; WAL segments and backups taken before may still hold them."""

import sqlite3
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row

from domain.ids import user_aggregate_id
from domain.message import Message
from domain.user import User
from infrastructure.aggregate_loader import AggregateLoader
from infrastructure.database_url import DatabaseLocation, SqliteLocation
from infrastructure.eventstore import ChatEventStore
from infrastructure.readmodels.database import Database
from infrastructure.sealing import checkpoint_and_vacuum, keys_path

# Stored topic -> its personal field.
PERSONAL = {get_topic(Message.Sent): "content", get_topic(Message.Edited): "content",
            get_topic(User.Registered): "display_name"}
RM_TABLES = ["rm_messages", "rm_edits", "rm_feed", "rm_chats"]
CHUNK = 500


def secure_delete_by_default() -> bool:
    """Whether this SQLite zeroes what it deletes or overwrites on every connection
    (built with SQLITE_SECURE_DELETE, as Debian's is): then the only copies left are in
    the WAL, and a TRUNCATE checkpoint ends them without a VACUUM, which would hold the
    file's write lock (and every send) while it rewrites the whole file."""
    conn = sqlite3.connect(":memory:")
    try:
        return bool(conn.execute("PRAGMA secure_delete").fetchone()[0])
    finally:
        conn.close()


class StoreShredder:
    def __init__(self, store: ChatEventStore, db: Database, location: DatabaseLocation,
                 loader: AggregateLoader | None = None) -> None:
        self._store = store
        self._db = db
        self._location = location
        self._loader = loader

    # -- keys and plaintext ----------------------------------------------------------
    def destroy_key(self, user_id: str) -> None:
        self._store.keyring.destroy(user_id)

    def shred_author(self, user_id: str) -> int:
        ids = [UUID(m) for m in self._message_ids_of(user_id)]
        return self._rewrite([user_aggregate_id(user_id), *ids], plaintext_only=True)

    def shred_messages(self, message_ids: list[str]) -> int:
        return self._rewrite([UUID(m) for m in message_ids], plaintext_only=False)

    def _message_ids_of(self, user_id: str) -> list[str]:
        with self._db.transaction(readonly=True) as tx:
            return [r[0] for r in tx.fetchall("SELECT id FROM rm_messages WHERE sender_id = %s",
                                              (user_id,))]

    def chats_with_messages_before(self, created_before: str) -> list[str]:
        with self._db.transaction(readonly=True) as tx:
            return [r[0] for r in tx.fetchall(
                "SELECT DISTINCT chat_id FROM rm_messages WHERE created_at < %s AND erased = 0"
                " ORDER BY chat_id", (created_before,))]

    def messages_before(self, chat_id: str, created_before: str) -> list[str]:
        with self._db.transaction(readonly=True) as tx:
            return [r[0] for r in tx.fetchall(
                "SELECT id FROM rm_messages WHERE chat_id = %s AND created_at < %s"
                " AND erased = 0 ORDER BY seq", (chat_id, created_before))]

    def _rewrite(self, ids: list[UUID], plaintext_only: bool) -> int:
        """Nulls the personal field of these aggregates' stored events in place and drops
        their snapshots; how many events it rewrote."""
        if self._loader is not None:
            self._loader.forget(ids)  # the writer's cache holds their text too
        rewritten = 0
        for i in range(0, len(ids), CHUNK):
            part = ids[i:i + CHUNK]
            rewritten += self._rewrite_events(part, plaintext_only)
            self._drop_snapshots(part)
        return rewritten

    def _rewrite_events(self, ids: list[UUID], plaintext_only: bool) -> int:
        updates = []
        for originator_id, version, topic, state in self._rows(self._store.recorder, ids):
            field = PERSONAL.get(topic)
            if field is None:
                continue
            data = msgspec.json.decode(bytes(state))
            value = data.get(field)
            if value is None or (plaintext_only and not isinstance(value, str)):
                continue
            data[field] = None
            updates.append((msgspec.json.encode(data), originator_id, version))
        if updates:
            self._update(updates)
        return len(updates)

    def _datastore(self, recorder: Any) -> tuple[Any, str]:
        datastore = recorder.datastore
        table = recorder.events_table_name
        if hasattr(datastore, "schema"):
            return datastore, f'"{datastore.schema}"."{table}"'
        return datastore, table

    def _rows(self, recorder: Any, ids: list[UUID]) -> list[tuple[Any, ...]]:
        datastore, table = self._datastore(recorder)
        sql = f"SELECT originator_id, originator_version, topic, state FROM {table}"
        if hasattr(datastore, "schema"):
            with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(sql + " WHERE originator_id = ANY(%s::uuid[])", (ids,))
                return list(cur.fetchall())
        with datastore.transaction(commit=False) as c:
            c.execute(sql + f" WHERE originator_id IN ({','.join('?' * len(ids))})",
                      [u.hex for u in ids])
            return [tuple(r) for r in c.fetchall()]

    def _update(self, updates: list[tuple[bytes, Any, int]]) -> None:
        datastore, table = self._datastore(self._store.recorder)
        sql = f"UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s"
        if hasattr(datastore, "schema"):
            with datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.executemany(sql, updates)
            return
        with datastore.transaction(commit=True) as c:
            c.executemany(sql.replace("%s", "?"), updates)

    def _drop_snapshots(self, ids: list[UUID]) -> None:
        snapshots: Any = self._store.snapshots
        if snapshots is None:
            return
        datastore, table = self._datastore(snapshots.recorder)
        if hasattr(datastore, "schema"):
            with datastore.get_connection() as conn, conn.transaction():
                conn.execute(f"DELETE FROM {table} WHERE originator_id = ANY(%s::uuid[])", (ids,))
            return
        with datastore.transaction(commit=True) as c:
            c.execute(f"DELETE FROM {table} WHERE originator_id IN ({','.join('?' * len(ids))})",
                      [u.hex for u in ids])

    # -- files -----------------------------------------------------------------------
    def compact(self) -> None:
        location = self._location
        if isinstance(location, SqliteLocation):
            vacuum = not secure_delete_by_default()
            for path in (location.events_path, location.readmodels_path, keys_path(location)):
                conn = sqlite3.connect(str(path), timeout=60, isolation_level=None)
                try:
                    if vacuum:
                        checkpoint_and_vacuum(conn)
                    else:
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    conn.close()
            return
        self._store.keyring.store.compact()
        tables = [self._datastore(self._store.recorder)[1]]
        if self._store.snapshots is not None:
            tables.append(self._datastore(self._store.snapshots.recorder)[1])
        self._vacuum_postgres([*tables, *RM_TABLES])

    def _vacuum_postgres(self, tables: Iterable[str]) -> None:
        datastore, _ = self._datastore(self._store.recorder)
        with datastore.get_connection() as conn:
            conn.commit()
            pooled_as = conn.autocommit  # the library's connections are autocommit
            conn.autocommit = True
            try:
                for table in tables:
                    conn.execute(f"VACUUM {table}")
            finally:
                conn.autocommit = pooled_as
