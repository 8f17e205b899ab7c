"""The SQL of the chat list (rules: application/projections/chats.py): chats,
members, unread counts, last message. A batch is written with one statement per table."""

from collections.abc import Iterable, Mapping
from typing import Any

from application.projections.chats import ChatsOps, ChatsProjection, UnreadRow
from infrastructure.readmodels.common import FEED_COLUMNS, Projection, select_in
from infrastructure.stored_events import (
    CHAT_CREATED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    READ,
    READ_UPTO,
    SENT,
    Change,
    typed,
)

TOPICS = frozenset({SENT, READ, READ_UPTO, CHAT_CREATED, MEMBER_ADDED, MEMBER_REMOVED})


class _StoredChats:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def unread_rows(self, chat_ids: Iterable[str]) -> Iterable[UnreadRow]:
        rows = select_in(self._tx, "SELECT user_id, chat_id, read_seq, unread FROM rm_unread"
                         " WHERE chat_id IN ({keys})", chat_ids)
        return [UnreadRow(u, c, int(r), int(n)) for u, c, r, n in rows]

    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        rows = select_in(self._tx, "SELECT message_id, chat_id, seq FROM rm_chat_messages"
                         " WHERE message_id IN ({keys})", message_ids)
        return {m: (c, int(seq)) for m, c, seq in rows}

    def sent_by_others_after(self, chat_id: str, seq: int, user_id: str) -> int:
        row = self._tx.fetchone("SELECT COUNT(*) FROM rm_chat_messages WHERE chat_id = %s"
                                " AND seq > %s AND sender_id <> %s", (chat_id, seq, user_id))
        return int(row[0]) if row else 0


class ChatsView(Projection):
    """Unread counts follow one rule: a member's count is the number of messages of
    the chat after their read mark (or their joining) that others sent. A batch is
    applied in memory under that rule and written with one statement per table."""

    name = "chats"
    tables = ["rm_chats", "rm_members", "rm_unread", "rm_chat_messages"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_chats (id TEXT PRIMARY KEY, title TEXT NOT NULL,"
        " created_by TEXT NOT NULL, created_at TEXT NOT NULL, last_message TEXT)",
        "CREATE TABLE IF NOT EXISTS rm_members (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " PRIMARY KEY (chat_id, user_id))",
        "CREATE TABLE IF NOT EXISTS rm_unread (user_id TEXT NOT NULL, chat_id TEXT NOT NULL,"
        " read_seq BIGINT NOT NULL, unread INTEGER NOT NULL, PRIMARY KEY (user_id, chat_id))",
        "CREATE INDEX IF NOT EXISTS rm_unread_chat ON rm_unread (chat_id)",
        # Just enough of each message to recount unread messages after a read.
        "CREATE TABLE IF NOT EXISTS rm_chat_messages (message_id TEXT PRIMARY KEY,"
        " chat_id TEXT NOT NULL, seq BIGINT NOT NULL, sender_id TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_chat_messages_seq ON rm_chat_messages (chat_id, seq)",
    ]
    indexes = ["CREATE INDEX IF NOT EXISTS rm_members_user ON rm_members (user_id)"]

    def __init__(self) -> None:
        self.projection = ChatsProjection()

    def apply(self, tx: Any, changes: list[Change]) -> None:
        events = typed(changes, TOPICS)
        if events:
            self.write(tx, self.projection.project(events, _StoredChats(tx)))

    @staticmethod
    def write(tx: Any, ops: ChatsOps) -> None:
        if ops.new_chats:
            tx.insert("rm_chats", ("id", "title", "created_by", "created_at"), ops.new_chats)
        if ops.left:
            tx.executemany("DELETE FROM rm_members WHERE chat_id = %s AND user_id = %s",
                           ops.left)
        if ops.joined:
            tx.executemany("INSERT INTO rm_members (chat_id, user_id) VALUES (%s, %s)"
                           " ON CONFLICT DO NOTHING", ops.joined)
        if ops.unread_gone:
            tx.executemany("DELETE FROM rm_unread WHERE user_id = %s AND chat_id = %s",
                           ops.unread_gone)
        if ops.unread:
            tx.executemany(
                "INSERT INTO rm_unread (user_id, chat_id, read_seq, unread) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (user_id, chat_id) DO UPDATE SET read_seq = excluded.read_seq,"
                " unread = excluded.unread", ops.unread)
        if ops.chat_messages:
            ops.chat_messages.sort()  # in key order: neighbouring rows share B-tree pages
            tx.insert("rm_chat_messages", ("message_id", "chat_id", "seq", "sender_id"),
                      ops.chat_messages)
        if ops.last_message:
            tx.executemany("UPDATE rm_chats SET last_message = %s WHERE id = %s",
                           [(m, chat_id) for chat_id, m in ops.last_message.items()])
        if ops.feed.rows:
            tx.insert("rm_feed", FEED_COLUMNS, ops.feed.rows)
