"""Message history per chat, with delivered/read receipts.

Receipts are high-water marks per member and chat: rm_delivered_marks and
rm_read_marks. rm_receipts keeps the per-message receipts that releases before
issue 12 stored (Message.Delivered / Message.Read): they still count."""

from typing import Any

from application.feed import Receipt, ServerEvent, message_on_wire, new_message
from infrastructure.readmodels.common import Feed, Projection, select_in
from infrastructure.stored_events import (
    DELIVERED,
    DELIVERED_UPTO,
    READ,
    READ_UPTO,
    SENT,
    Change,
    uuid_text,
)

RECEIPTS_ROOM_MAX = 100


class HistoryProjection(Projection):
    """Applies a batch with one executemany per table: a rebuild inserts rows by
    the thousand instead of a statement per row."""

    name = "history"
    tables = ["rm_messages", "rm_receipts", "rm_read_marks", "rm_delivered_marks"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_messages (id TEXT PRIMARY KEY, chat_id TEXT NOT NULL,"
        " sender_id TEXT NOT NULL, content TEXT NOT NULL, seq BIGINT NOT NULL,"
        " created_at TEXT NOT NULL, client_message_id TEXT)",
        "CREATE TABLE IF NOT EXISTS rm_receipts (message_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (message_id, user_id, kind))",
        # "Read" is a high-water mark: reading a message reads all earlier ones.
        "CREATE TABLE IF NOT EXISTS rm_read_marks (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " seq BIGINT NOT NULL, PRIMARY KEY (chat_id, user_id))",
        "CREATE TABLE IF NOT EXISTS rm_delivered_marks (chat_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (chat_id, user_id))",
    ]
    indexes = [
        "CREATE UNIQUE INDEX IF NOT EXISTS rm_messages_chat_seq ON rm_messages (chat_id, seq)",
    ]

    def __init__(self, receipts_room_max: int = RECEIPTS_ROOM_MAX) -> None:
        # Above this many members a receipt reaches only the message's sender: its
        # feed row names the sender (user_id), and only they see it.
        self.receipts_room_max = receipts_room_max

    def apply(self, tx: Any, changes: list[Change]) -> None:
        feed = Feed(self.name)
        # Where each message lives: those sent in this batch, then the stored ones.
        where: dict[str, tuple[str, int]] = {
            c.originator_id: (uuid_text(c.state.chat_id.data), c.position)
            for c in changes if c.topic == SENT
        }
        receipts = [c for c in changes if c.topic in (DELIVERED, READ)]
        stored = {c.originator_id for c in receipts} - where.keys()
        if stored:
            for message_id, chat_id, seq in select_in(
                tx, "SELECT id, chat_id, seq FROM rm_messages WHERE id IN ({keys})", stored
            ):
                where[message_id] = (chat_id, int(seq))
        messages: list[tuple[Any, ...]] = []
        receipt_rows: list[tuple[str, str, str, str]] = []
        marks: list[tuple[str, str, int]] = []
        delivered_marks: list[tuple[str, str, int]] = []
        for c in changes:
            s = c.state
            if c.topic in (DELIVERED_UPTO, READ_UPTO):
                chat_id = uuid_text(s.chat_id.data)
                read = c.topic == READ_UPTO
                (marks if read else delivered_marks).append((chat_id, s.user_id, s.seq))
                feed.add(c, ServerEvent.MESSAGE_READ if read else ServerEvent.MESSAGE_DELIVERED,
                         Receipt(chat_id=chat_id, message_id=uuid_text(s.message_id.data),
                                 user_id=s.user_id, at=c.at), chat_id=chat_id,
                    user_id=s.sender_id if s.members > self.receipts_room_max else None)
            elif c.topic == SENT:
                chat_id = where[c.originator_id][0]
                messages.append((c.originator_id, chat_id, s.sender_id, s.content, c.position,
                                 c.at, s.client_message_id))
                feed.add(c, ServerEvent.NEW_MESSAGE, new_message(message_on_wire(
                    c.originator_id, chat_id, s.sender_id, s.content, c.position, c.at,
                    s.client_message_id)), chat_id=chat_id)
            elif c.topic in (DELIVERED, READ):
                found = where.get(c.originator_id)
                if found is None:
                    continue
                chat_id, seq = found
                read = c.topic == READ
                receipt_rows.append((c.originator_id, s.user_id, "read" if read else "delivered",
                                     c.at))
                if read:
                    marks.append((chat_id, s.user_id, seq))
                feed.add(c, ServerEvent.MESSAGE_READ if read else ServerEvent.MESSAGE_DELIVERED,
                         Receipt(chat_id=chat_id, message_id=c.originator_id,
                                 user_id=s.user_id, at=c.at), chat_id=chat_id)
        if messages:
            messages.sort()  # in key order: neighbouring rows share B-tree pages
            tx.insert("rm_messages", ("id", "chat_id", "sender_id", "content", "seq",
                                      "created_at", "client_message_id"), messages)
        if receipt_rows:
            # In store order: the first receipt of a kind wins, as one by one.
            tx.executemany(
                "INSERT INTO rm_receipts (message_id, user_id, kind, at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (message_id, user_id, kind) DO NOTHING", receipt_rows)
        for table, rows in (("rm_read_marks", marks), ("rm_delivered_marks", delivered_marks)):
            if rows:
                tx.executemany(
                    f"INSERT INTO {table} (chat_id, user_id, seq) VALUES (%s, %s, %s)"
                    f" ON CONFLICT (chat_id, user_id) DO UPDATE SET seq = excluded.seq"
                    f" WHERE {table}.seq < excluded.seq", rows)
        feed.flush(tx)
