"""Time travel's reads (application/time_travel.py, the ChatPast port): the event
store by aggregate and by position, and the read models' position indexes.

Every lookup is by index: the chat's version at a position (its primary key), the
messages of a page ((chat_id, seq) of rm_messages), their events (the store's
primary key), their reactions' positions (rm_reaction_log), each member's marks at a
position (rm_mark_log, newest first). None grows with the chat's history."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from psycopg.rows import tuple_row

from application.projections.events import ProjectedEvent
from application.time_travel import Span
from domain.chat import Chat
from infrastructure.eventstore import head_position
from infrastructure.readmodels.common import select_in
from infrastructure.readmodels.database import Database
from infrastructure.stored_events import decode, open_personal, typed


class StoreAndIndexes:
    def __init__(self, store: Application[UUID], db: Database) -> None:
        self._store = store
        self._db = db
        recorder: Any = store.recorder
        self._table = recorder.events_table_name
        self._datastore = recorder.datastore
        self._postgres = hasattr(self._datastore, "schema")
        if self._postgres:
            self._table = f'"{self._datastore.schema}"."{self._table}"'

    # -- the event store -----------------------------------------------------------
    def _rows(self, sql_pg: str, sql_sqlite: str, params: tuple[Any, ...]) -> list[Any]:
        if self._postgres:
            with (self._datastore.get_connection() as conn,
                  conn.cursor(row_factory=tuple_row) as cur):
                cur.execute(sql_pg, params)
                return list(cur.fetchall())
        with self._datastore.transaction(commit=False) as c:
            c.execute(sql_sqlite, params)
            return list(c.fetchall())

    def head(self) -> int:
        return head_position(self._store)

    def version_at(self, aggregate_id: UUID, position: int) -> int | None:
        rows = self._rows(
            f"SELECT MAX(originator_version) FROM {self._table}"
            " WHERE originator_id = %s AND notification_id <= %s",
            f"SELECT MAX(originator_version) FROM {self._table}"
            " WHERE originator_id = ? AND rowid <= ?",
            (aggregate_id if self._postgres else aggregate_id.hex, position))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def chat_at(self, chat_id: UUID, position: int) -> Chat | None:
        version = self.version_at(chat_id, position)
        if version is None:
            return None
        try:  # the latest snapshot at or below that version, then the events after it
            chat: object = self._store.repository.get(chat_id, version=version)
        except AggregateNotFoundError:
            return None
        return chat if isinstance(chat, Chat) else None

    def _events_of(self, ids: list[str], upto: int) -> list[Any]:
        if self._postgres:
            return self._rows(
                f"SELECT notification_id, originator_id::text, topic, state FROM {self._table}"
                " WHERE originator_id = ANY(%s::uuid[]) AND notification_id <= %s",
                "", (ids, upto))
        hexes = [UUID(i).hex for i in ids]
        marks = ",".join("?" * len(hexes))
        return self._rows("", f"SELECT rowid, originator_id, topic, state FROM {self._table}"
                          f" WHERE originator_id IN ({marks}) AND rowid <= ?", (*hexes, upto))

    def _events_at(self, positions: list[int]) -> list[Any]:
        if not positions:
            return []
        if self._postgres:
            return self._rows(
                f"SELECT notification_id, originator_id::text, topic, state FROM {self._table}"
                " WHERE notification_id = ANY(%s)", "", (positions,))
        rows: list[Any] = []
        for i in range(0, len(positions), 500):  # SQLite's limit of bound parameters
            part = positions[i:i + 500]
            rows += self._rows("", f"SELECT rowid, originator_id, topic, state FROM"
                               f" {self._table} WHERE rowid IN ({','.join('?' * len(part))})",
                               tuple(part))
        return rows

    def message_events(self, message_ids: list[str], upto: int) -> list[ProjectedEvent]:
        with self._db.transaction(readonly=True) as tx:
            reactions = [int(r[0]) for r in select_in(
                tx, "SELECT position FROM rm_reaction_log WHERE message_id IN ({keys})"
                f" AND position <= {int(upto)}", message_ids)]
        rows = self._events_of(message_ids, upto) + self._events_at(reactions)
        rows.sort(key=lambda r: int(r[0]))
        # Decoded as every projection decodes them (infrastructure/stored_events.py):
        # sealed content opened with its author's key, None once the author is erased.
        changes = decode((int(p), o, t, bytes(s)) for p, o, t, s in rows)
        return typed(open_personal(getattr(self._store, "keyring", None), changes))

    # -- the read models' position indexes -------------------------------------------
    def spans(self, chat_id: str, user_id: str, upto: int) -> list[Span]:
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall("SELECT joined_at, left_at FROM rm_member_spans WHERE chat_id = %s"
                               " AND user_id = %s AND joined_at <= %s ORDER BY joined_at",
                               (chat_id, user_id, upto))
        return [(int(j), None if left is None else int(left)) for j, left in rows]

    def page(self, chat_id: str, thread_id: str | None, ranges: list[tuple[int, int]],
             before: int | None, after: int | None, limit: int
             ) -> tuple[list[tuple[str, int]], bool]:
        """Range by range from the page's end (an index seek each), so a member with
        many spans costs only the spans the page touches."""
        timeline = "thread_id IS NULL" if thread_id is None else "thread_id = %s"
        scope: list[Any] = [chat_id] + ([] if thread_id is None else [thread_id])
        forward = after is not None
        lo_bound = after + 1 if after is not None else 0
        hi_bound = before - 1 if before is not None else None
        clipped = [(max(lo, lo_bound), hi if hi_bound is None else min(hi, hi_bound))
                   for lo, hi in ranges]
        clipped = [(lo, hi) for lo, hi in clipped if lo <= hi]
        if not forward:
            clipped.reverse()
        order = "ASC" if forward else "DESC"
        sql = (f"SELECT id, seq FROM rm_messages WHERE chat_id = %s AND {timeline}"
               f" AND seq >= %s AND seq <= %s ORDER BY seq {order} LIMIT %s")
        rows: list[tuple[str, int]] = []
        with self._db.transaction(readonly=True) as tx:
            for lo, hi in clipped:
                found = tx.fetchall(sql, [*scope, lo, hi, limit - len(rows)])
                rows.extend((r[0], int(r[1])) for r in found)
                if len(rows) >= limit:
                    break
            if not forward:
                rows.reverse()
            older = False
            if rows:
                oldest = rows[0][1]
                for lo, hi in reversed(ranges):
                    if lo >= oldest:
                        continue
                    if tx.fetchall(sql, [*scope, lo, min(hi, oldest - 1), 1]):
                        older = True
                        break
        return rows, older

    def thread_counts(self, root_ids: list[str], upto: int) -> dict[str, tuple[int, str]]:
        with self._db.transaction(readonly=True) as tx:
            rows = select_in(tx, "SELECT thread_id, COUNT(*), MAX(created_at) FROM rm_messages"
                             " WHERE thread_id IN ({keys})"
                             f" AND seq <= {int(upto)} GROUP BY thread_id", root_ids)
        return {r[0]: (int(r[1]), r[2]) for r in rows}

    def marks(self, chat_id: str, upto: int) -> dict[str, tuple[int, int]]:
        """Each user who was ever a member up to `upto`: their marks then, found by
        the newest logged move at or before it (marks only rise)."""
        newest = ("(SELECT seq FROM rm_mark_log l WHERE l.chat_id = s.chat_id"
                  " AND l.user_id = s.user_id AND l.kind = '{kind}' AND l.position <= %s"
                  " ORDER BY l.position DESC LIMIT 1)")
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall(
                f"SELECT s.user_id, {newest.format(kind='read')},"
                f" {newest.format(kind='delivered')} FROM (SELECT DISTINCT chat_id, user_id"
                " FROM rm_member_spans WHERE chat_id = %s AND joined_at <= %s) s",
                (upto, upto, chat_id, upto))
        return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows
                if r[1] is not None or r[2] is not None}

    def receipts_hidden(self, user_ids: Iterable[str]) -> set[str]:
        with self._db.transaction(readonly=True) as tx:
            rows = select_in(tx, "SELECT user_id FROM rm_receipt_privacy"
                             " WHERE read_receipts = 0 AND user_id IN ({keys})", user_ids)
        return {r[0] for r in rows}
