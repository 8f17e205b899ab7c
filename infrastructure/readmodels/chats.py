"""The SQL of the chat list (rules: application/projections/chats.py): chats,
members, unread counts, last message. A batch is written with one statement per table."""

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from application.projections.chats import ChatsOps, ChatsProjection, LastMessagePatch, UnreadRow
from application.projections.feed_rows import to_json
from infrastructure.readmodels.common import FEED_COLUMNS, Projection, select_in
from infrastructure.stored_events import (
    BANNED,
    CHAT_CREATED,
    CHAT_UPDATED,
    DELETED,
    EDITED,
    EXPIRED,
    INVITE_ACCEPTED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    READ,
    READ_UPTO,
    SENT,
    USER_ERASED,
    Change,
    typed,
)

TOPICS = frozenset({SENT, READ, READ_UPTO, CHAT_CREATED, MEMBER_ADDED, MEMBER_REMOVED, BANNED,
                    INVITE_ACCEPTED, CHAT_UPDATED, EDITED, DELETED, EXPIRED, USER_ERASED})


# Columns rm_unread gained when a message stopped writing every member's row.
UNREAD_COLUMNS = [("rm_unread", c, "BIGINT NOT NULL DEFAULT 0") for c in ("total_at", "own",
                                                                         "own_at")]
# Up to this many (user, chat) rows are looked up by key; more, by their chats.
PAIRS_AT_ONCE = 500
_UNREAD = "user_id, chat_id, read_seq, unread, total_at, own, own_at"


class _StoredChats:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def unread_rows(self, keys: Iterable[tuple[str, str]]) -> Iterable[UnreadRow]:
        keys = list(keys)
        if len(keys) > PAIRS_AT_ONCE:  # a rebuild's batch: whole chats, in a few queries
            rows = select_in(self._tx, f"SELECT {_UNREAD} FROM rm_unread"
                             " WHERE chat_id IN ({keys})", {chat for _, chat in keys})
        else:  # a live batch: the few rows it changes, never a whole room
            rows = []
            for i in range(0, len(keys), 100):
                part = keys[i:i + 100]
                rows += self._tx.fetchall(
                    f"SELECT {_UNREAD} FROM rm_unread WHERE "
                    + " OR ".join(["(user_id = %s AND chat_id = %s)"] * len(part)),
                    [v for key in part for v in key])
        wanted = set(keys)
        return [UnreadRow(u, c, *map(int, rest)) for u, c, *rest in rows if (u, c) in wanted]

    def totals(self, chat_ids: Iterable[str]) -> Mapping[str, int]:
        rows = select_in(self._tx, "SELECT id, total FROM rm_chats WHERE id IN ({keys})",
                         chat_ids)
        return {chat_id: int(total) for chat_id, total in rows}

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
    tables = ["rm_chats", "rm_members", "rm_unread", "rm_chat_messages", "rm_mentions"]
    ddl = [
        # total: messages of its main timeline (unread counts: application/projections/chats.py).
        "CREATE TABLE IF NOT EXISTS rm_chats (id TEXT PRIMARY KEY, title TEXT NOT NULL,"
        " created_by TEXT NOT NULL, created_at TEXT NOT NULL, last_message TEXT,"
        " total BIGINT NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS rm_members (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " PRIMARY KEY (chat_id, user_id))",
        "CREATE TABLE IF NOT EXISTS rm_unread (user_id TEXT NOT NULL, chat_id TEXT NOT NULL,"
        " read_seq BIGINT NOT NULL, unread INTEGER NOT NULL, "
        + ", ".join(f"{c} {d}" for _, c, d in UNREAD_COLUMNS) + ","
        " PRIMARY KEY (user_id, chat_id))",
        "CREATE INDEX IF NOT EXISTS rm_unread_chat ON rm_unread (chat_id)",
        # Just enough of each message to recount unread messages after a read.
        "CREATE TABLE IF NOT EXISTS rm_chat_messages (message_id TEXT PRIMARY KEY,"
        " chat_id TEXT NOT NULL, seq BIGINT NOT NULL, sender_id TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_chat_messages_seq ON rm_chat_messages (chat_id, seq)",
        # Who each message mentions (its author never), to count unread mentions.
        "CREATE TABLE IF NOT EXISTS rm_mentions (message_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, chat_id TEXT NOT NULL, seq BIGINT NOT NULL,"
        " PRIMARY KEY (message_id, user_id))",
        "CREATE INDEX IF NOT EXISTS rm_mentions_user ON rm_mentions (user_id, chat_id, seq)",
    ]
    indexes = ["CREATE INDEX IF NOT EXISTS rm_members_user ON rm_members (user_id)"]
    # Counts relative to what the rows say: an earlier release's rows (every count
    # stored, no totals) read right with zeros.
    added_columns = [*UNREAD_COLUMNS, ("rm_chats", "total", "BIGINT NOT NULL DEFAULT 0")]

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
                "INSERT INTO rm_unread (user_id, chat_id, read_seq, unread, total_at, own, own_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (user_id, chat_id) DO UPDATE SET read_seq = excluded.read_seq,"
                " unread = excluded.unread, total_at = excluded.total_at, own = excluded.own,"
                " own_at = excluded.own_at", ops.unread)
        if ops.chat_messages:
            ops.chat_messages.sort()  # in key order: neighbouring rows share B-tree pages
            tx.insert("rm_chat_messages", ("message_id", "chat_id", "seq", "sender_id"),
                      ops.chat_messages)
        if ops.totals:
            tx.executemany("UPDATE rm_chats SET total = %s WHERE id = %s",
                           [(total, chat_id) for chat_id, total in ops.totals.items()])
        if ops.last_message:
            tx.executemany("UPDATE rm_chats SET last_message = %s WHERE id = %s",
                           [(m, chat_id) for chat_id, m in ops.last_message.items()])
        if ops.titles:
            tx.executemany("UPDATE rm_chats SET title = %s WHERE id = %s",
                           [(title, chat_id) for chat_id, title in ops.titles.items()])
        if ops.mentions_gone:
            tx.executemany("DELETE FROM rm_mentions WHERE message_id = %s",
                           [(m,) for m in ops.mentions_gone])
        if ops.mentions:
            tx.insert("rm_mentions", ("message_id", "user_id", "chat_id", "seq"), ops.mentions)
        for patch in ops.patches:
            ChatsView._patch_last_message(tx, patch)
        for sender in ops.erased_senders:
            for chat_id, last in tx.fetchall(
                "SELECT id, last_message FROM rm_chats WHERE id IN (SELECT DISTINCT chat_id"
                " FROM rm_chat_messages WHERE sender_id = %s)", (sender,)):
                message = msgspec.json.decode(last) if last else {}
                if message.get("senderId") == sender:
                    ChatsView._patch_last_message(tx, LastMessagePatch(
                        chat_id, message["id"], None, None, [], erased=True))
        if ops.feed.rows:
            tx.insert("rm_feed", FEED_COLUMNS, ops.feed.rows)

    @staticmethod
    def _patch_last_message(tx: Any, p: LastMessagePatch) -> None:
        row = tx.fetchone("SELECT last_message FROM rm_chats WHERE id = %s", (p.chat_id,))
        if row is None or row[0] is None:
            return
        message = msgspec.json.decode(row[0])
        if message.get("id") != p.message_id:
            return  # not the last message (any more): nothing of it is here
        if p.erased:  # its mentions stay (user ids, not text), as a rebuild reads them
            message.update(content=None, erased=True)
        elif p.content is None:
            message.update(content=None, mentions=p.mentions, deleted=True)
        else:
            message.update(content=p.content, mentions=p.mentions, editedAt=p.edited_at)
        tx.execute("UPDATE rm_chats SET last_message = %s WHERE id = %s",
                   (to_json(message), p.chat_id))
