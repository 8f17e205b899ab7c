"""The SQL of message history (rules: application/projections/history.py).

Receipts are high-water marks per member and chat: rm_delivered_marks and
rm_read_marks. rm_receipts keeps the per-message receipts that releases before
issue 12 stored (Message.Delivered / Message.Read): they still count. A batch is
written with one statement per table."""

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from application.feed import ServerEvent
from application.projections.feed_rows import to_json
from application.projections.history import (
    RECEIPTS_ROOM_MAX,
    DeleteRow,
    HistoryOps,
    HistoryProjection,
)
from infrastructure.readmodels.common import FEED_COLUMNS, Projection, select_in
from infrastructure.stored_events import (
    DELETED,
    DELIVERED,
    DELIVERED_UPTO,
    EDITED,
    EXPIRED,
    PINNED,
    PRIVACY_CHANGED,
    REACTION_ADDED,
    REACTION_REMOVED,
    READ,
    READ_UPTO,
    SENT,
    UNPINNED,
    USER_ERASED,
    Change,
    typed,
)

TOPICS = frozenset({SENT, DELIVERED, READ, DELIVERED_UPTO, READ_UPTO, EDITED, DELETED, PINNED,
                    UNPINNED, REACTION_ADDED, REACTION_REMOVED, PRIVACY_CHANGED, EXPIRED,
                    USER_ERASED})
# What messages gained with issue 16 (an earlier release's rows: none of it happened).
MESSAGE_COLUMNS_16 = [
    ("reply_to", "TEXT"), ("thread_id", "TEXT"), ("mentions", "TEXT NOT NULL DEFAULT '[]'"),
    ("edited_at", "TEXT"), ("deleted", "INTEGER NOT NULL DEFAULT 0"),
    ("thread_reply_count", "INTEGER NOT NULL DEFAULT 0"), ("thread_last_reply_at", "TEXT"),
    ("pinned", "INTEGER NOT NULL DEFAULT 0"), ("pinned_seq", "BIGINT"),
]
# What they gained with issue 18: erased (author erased, or expired by retention).
MESSAGE_COLUMNS_18 = [("erased", "INTEGER NOT NULL DEFAULT 0")]
# Partial: most messages are neither thread replies nor pinned, and a rebuild builds
# these once it has loaded every message (a scan, not a sort of every row). Stores
# that have the full indexes of an earlier release keep them; both serve the same queries.
MESSAGE_INDEXES_16 = [
    "CREATE INDEX IF NOT EXISTS rm_messages_thread ON rm_messages (thread_id, seq)"
    " WHERE thread_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS rm_messages_pins ON rm_messages (chat_id, pinned_seq)"
    " WHERE pinned_seq IS NOT NULL",
]
_FEED_WITH_CONTENT = (ServerEvent.NEW_MESSAGE.value, ServerEvent.MESSAGE_EDITED.value)


class _StoredMessages:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        rows = select_in(self._tx, "SELECT id, chat_id, seq FROM rm_messages"
                         " WHERE id IN ({keys})", message_ids)
        return {message_id: (chat_id, int(seq)) for message_id, chat_id, seq in rows}

    def receipts_hidden(self, user_ids: Iterable[str]) -> set[str]:
        rows = select_in(self._tx, "SELECT user_id FROM rm_receipt_privacy"
                         " WHERE read_receipts = 0 AND user_id IN ({keys})", user_ids)
        return {r[0] for r in rows}


class HistoryView(Projection):
    name = "history"
    tables = ["rm_messages", "rm_receipts", "rm_read_marks", "rm_delivered_marks", "rm_edits",
              "rm_reactions", "rm_receipt_privacy", "rm_mark_log", "rm_reaction_log"]
    ddl = [
        # content is '' once deleted (the column was NOT NULL before deletes existed).
        "CREATE TABLE IF NOT EXISTS rm_messages (id TEXT PRIMARY KEY, chat_id TEXT NOT NULL,"
        " sender_id TEXT NOT NULL, content TEXT NOT NULL, seq BIGINT NOT NULL,"
        " created_at TEXT NOT NULL, client_message_id TEXT, "
        + ", ".join(f"{c} {d}" for c, d in MESSAGE_COLUMNS_16 + MESSAGE_COLUMNS_18) + ")",
        # The audit trail of edited messages: the original (at the message's seq), then
        # each edit at its own; content NULL once the message is deleted.
        "CREATE TABLE IF NOT EXISTS rm_edits (message_id TEXT NOT NULL, seq BIGINT NOT NULL,"
        " content TEXT, edited_at TEXT NOT NULL, PRIMARY KEY (message_id, seq))",
        "CREATE TABLE IF NOT EXISTS rm_reactions (message_id TEXT NOT NULL, emoji TEXT NOT NULL,"
        " user_id TEXT NOT NULL, position BIGINT NOT NULL,"
        " PRIMARY KEY (message_id, emoji, user_id))",
        "CREATE TABLE IF NOT EXISTS rm_receipts (message_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (message_id, user_id, kind))",
        "CREATE TABLE IF NOT EXISTS rm_read_marks (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " seq BIGINT NOT NULL, PRIMARY KEY (chat_id, user_id))",
        "CREATE TABLE IF NOT EXISTS rm_delivered_marks (chat_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (chat_id, user_id))",
        # Privacy (issue 18): users whose readReceipts are off (0) or back on (1).
        "CREATE TABLE IF NOT EXISTS rm_receipt_privacy (user_id TEXT PRIMARY KEY,"
        " read_receipts INTEGER NOT NULL)",
        # Position indexes for time travel (?asOf): each mark others may see, and the
        # position of each reaction change of a message.
        "CREATE TABLE IF NOT EXISTS rm_mark_log (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, position BIGINT NOT NULL, seq BIGINT NOT NULL,"
        " PRIMARY KEY (chat_id, user_id, kind, position))",
        "CREATE TABLE IF NOT EXISTS rm_reaction_log (message_id TEXT NOT NULL,"
        " position BIGINT NOT NULL, PRIMARY KEY (message_id, position))",
    ]
    indexes = [
        "CREATE UNIQUE INDEX IF NOT EXISTS rm_messages_chat_seq ON rm_messages (chat_id, seq)",
        *MESSAGE_INDEXES_16,
    ]
    added_columns = [("rm_messages", c, d) for c, d in MESSAGE_COLUMNS_16 + MESSAGE_COLUMNS_18]
    upgrade_indexes = MESSAGE_INDEXES_16

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
                                      "created_at", "client_message_id", "reply_to",
                                      "thread_id", "mentions", "erased"), ops.messages)
        if ops.thread_replies:
            tx.executemany("UPDATE rm_messages SET thread_reply_count = thread_reply_count + 1,"
                           " thread_last_reply_at = %s WHERE id = %s",
                           [(r.at, r.root_id) for r in ops.thread_replies])
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
        if ops.receipt_privacy:
            tx.executemany("INSERT INTO rm_receipt_privacy (user_id, read_receipts) VALUES (%s, %s)"
                           " ON CONFLICT (user_id) DO UPDATE SET"
                           " read_receipts = excluded.read_receipts",
                           [(u, int(on)) for u, on in ops.receipt_privacy.items()])
        if ops.mark_log:
            tx.insert("rm_mark_log", ("chat_id", "user_id", "kind", "seq", "position"),
                      ops.mark_log)
        if ops.reaction_log:
            tx.executemany("INSERT INTO rm_reaction_log (message_id, position) VALUES (%s, %s)"
                           " ON CONFLICT DO NOTHING", ops.reaction_log)
        HistoryView._over_time(tx, ops)

    @staticmethod
    def _over_time(tx: Any, ops: HistoryOps) -> None:
        if ops.edits:
            # The first edit archives the original: its content as sent, at its seq.
            tx.executemany(
                "INSERT INTO rm_edits (message_id, seq, content, edited_at)"
                " SELECT id, seq, NULLIF(content, ''), created_at FROM rm_messages WHERE id = %s"
                " ON CONFLICT (message_id, seq) DO NOTHING",
                [(m,) for m in dict.fromkeys(e.message_id for e in ops.edits)])
            tx.executemany("INSERT INTO rm_edits (message_id, seq, content, edited_at)"
                           " VALUES (%s, %s, %s, %s)",
                           [(e.message_id, e.seq, e.content, e.edited_at) for e in ops.edits])
            last = {e.message_id: e for e in ops.edits}
            # An edit read without its author's key (a rebuild after an erasure): erased.
            tx.executemany("UPDATE rm_messages SET content = %s, edited_at = %s, mentions = %s,"
                           " erased = CASE WHEN %s = 1 THEN 1 ELSE erased END WHERE id = %s",
                           [(e.content or "", e.edited_at, e.mentions,
                             int(e.content is None), e.message_id) for e in last.values()])
        if ops.pins:
            tx.executemany("UPDATE rm_messages SET pinned = %s, pinned_seq = %s WHERE id = %s",
                           [(p.pinned, p.pinned_seq, p.message_id) for p in ops.pins])
        if ops.reactions_gone:
            tx.executemany("DELETE FROM rm_reactions WHERE message_id = %s AND emoji = %s"
                           " AND user_id = %s", ops.reactions_gone)
        if ops.reactions:
            tx.executemany("INSERT INTO rm_reactions (message_id, emoji, user_id, position)"
                           " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", ops.reactions)
        for deleted in ops.deletes:
            HistoryView._delete(tx, deleted)
        for message_id in ops.expired:
            HistoryView._erase(tx, message_id)
        for user_id in ops.erased_users:
            # All of them, erased already or not: a rebuild reads their messages as erased
            # but with their mentions, which go here as they went live.
            for (message_id,) in tx.fetchall("SELECT id FROM rm_messages WHERE sender_id = %s",
                                             (user_id,)):
                HistoryView._erase(tx, message_id)

    @staticmethod
    def _erase(tx: Any, message_id: str) -> None:
        row = tx.fetchone("SELECT seq FROM rm_messages WHERE id = %s", (message_id,))
        if row is not None:
            HistoryView._delete(tx, DeleteRow(message_id, int(row[0])), erase=True)

    @staticmethod
    def _delete(tx: Any, d: DeleteRow, erase: bool = False) -> None:
        """The message keeps its place; its content leaves every row that held it."""
        # An erasure keeps the mentions (user ids, not text): a rebuild reads them from the
        # log as they are, whatever the order of erasure and message in its batches.
        flag = "erased" if erase else "deleted"
        mentions = "" if erase else ", mentions = '[]'"
        tx.execute(f"UPDATE rm_messages SET content = '', {flag} = 1{mentions}"
                   " WHERE id = %s", (d.message_id,))
        edits = [int(r[0]) for r in tx.fetchall(
            "SELECT seq FROM rm_edits WHERE message_id = %s", (d.message_id,))]
        tx.execute("UPDATE rm_edits SET content = NULL WHERE message_id = %s", (d.message_id,))
        positions = sorted({d.seq, *edits})
        rows = tx.fetchall(
            "SELECT position, source, ordinal, type, payload FROM rm_feed WHERE position IN ("
            + ",".join(["%s"] * len(positions)) + ")", positions)
        updates = []
        for position, source, ordinal, type_, payload in rows:
            if type_ not in _FEED_WITH_CONTENT:
                continue
            data = msgspec.json.decode(payload)
            if data.get("messageId", data.get("id")) != d.message_id:
                continue
            data["content"] = None
            if type_ == ServerEvent.NEW_MESSAGE.value:
                data.update({flag: True} if erase else {flag: True, "mentions": []})
            updates.append((to_json(data), position, source, ordinal))
        if updates:
            tx.executemany("UPDATE rm_feed SET payload = %s WHERE position = %s AND source = %s"
                           " AND ordinal = %s", updates)
