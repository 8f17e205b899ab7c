"""The SQL of message history (rules: application/projections/history.py).

Receipts are high-water marks per member and chat: rm_delivered_marks and
rm_read_marks. rm_receipts keeps the per-message receipts that releases before
issue 12 stored (Message.Delivered / Message.Read): they still count. A batch is
written with one statement per table."""

from collections.abc import Iterable, Mapping
from typing import Any

from application.projections.history import RECEIPTS_ROOM_MAX, HistoryOps, HistoryProjection
from infrastructure.readmodels.common import FEED_COLUMNS, Projection, select_in
from infrastructure.stored_events import (
    DELIVERED,
    DELIVERED_UPTO,
    READ,
    READ_UPTO,
    SENT,
    Change,
    typed,
)

TOPICS = frozenset({SENT, DELIVERED, READ, DELIVERED_UPTO, READ_UPTO})


class _StoredMessages:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        rows = select_in(self._tx, "SELECT id, chat_id, seq FROM rm_messages"
                         " WHERE id IN ({keys})", message_ids)
        return {message_id: (chat_id, int(seq)) for message_id, chat_id, seq in rows}


class HistoryView(Projection):
    name = "history"
    tables = ["rm_messages", "rm_receipts", "rm_read_marks", "rm_delivered_marks"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_messages (id TEXT PRIMARY KEY, chat_id TEXT NOT NULL,"
        " sender_id TEXT NOT NULL, content TEXT NOT NULL, seq BIGINT NOT NULL,"
        " created_at TEXT NOT NULL, client_message_id TEXT)",
        "CREATE TABLE IF NOT EXISTS rm_receipts (message_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (message_id, user_id, kind))",
        "CREATE TABLE IF NOT EXISTS rm_read_marks (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " seq BIGINT NOT NULL, PRIMARY KEY (chat_id, user_id))",
        "CREATE TABLE IF NOT EXISTS rm_delivered_marks (chat_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (chat_id, user_id))",
    ]
    indexes = [
        "CREATE UNIQUE INDEX IF NOT EXISTS rm_messages_chat_seq ON rm_messages (chat_id, seq)",
    ]

    def __init__(self, receipts_room_max: int = RECEIPTS_ROOM_MAX) -> None:
        self.projection = HistoryProjection(receipts_room_max)

    def apply(self, tx: Any, changes: list[Change]) -> None:
        events = typed(changes, TOPICS)
        if events:
            self.write(tx, self.projection.project(events, _StoredMessages(tx)))

    @staticmethod
    def write(tx: Any, ops: HistoryOps) -> None:
        if ops.messages:
            ops.messages.sort()  # in key order: neighbouring rows share B-tree pages
            tx.insert("rm_messages", ("id", "chat_id", "sender_id", "content", "seq",
                                      "created_at", "client_message_id"), ops.messages)
        if ops.receipts:
            # In store order: the first receipt of a kind wins.
            tx.executemany(
                "INSERT INTO rm_receipts (message_id, user_id, kind, at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (message_id, user_id, kind) DO NOTHING", ops.receipts)
        for table, rows in (("rm_read_marks", ops.read_marks),
                            ("rm_delivered_marks", ops.delivered_marks)):
            if rows:
                tx.executemany(
                    f"INSERT INTO {table} (chat_id, user_id, seq) VALUES (%s, %s, %s)"
                    f" ON CONFLICT (chat_id, user_id) DO UPDATE SET seq = excluded.seq"
                    f" WHERE {table}.seq < excluded.seq", rows)
        if ops.feed.rows:
            tx.insert("rm_feed", FEED_COLUMNS, ops.feed.rows)
