"""Message history per chat, with delivered/read receipts."""

from typing import Any

from infrastructure.readmodels.common import Feed, Projection, select_in
from infrastructure.stored_events import DELIVERED, READ, SENT, Change, uuid_text


class HistoryProjection(Projection):
    """Applies a batch with one executemany per table: a rebuild inserts rows by
    the thousand instead of a statement per row."""

    name = "history"
    tables = ["rm_messages", "rm_receipts", "rm_read_marks"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_messages (id TEXT PRIMARY KEY, chat_id TEXT NOT NULL,"
        " sender_id TEXT NOT NULL, content TEXT NOT NULL, seq BIGINT NOT NULL,"
        " created_at TEXT NOT NULL, client_message_id TEXT)",
        "CREATE TABLE IF NOT EXISTS rm_receipts (message_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (message_id, user_id, kind))",
        # "Read" is a high-water mark: reading a message reads all earlier ones.
        "CREATE TABLE IF NOT EXISTS rm_read_marks (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " seq BIGINT NOT NULL, PRIMARY KEY (chat_id, user_id))",
    ]
    indexes = [
        "CREATE UNIQUE INDEX IF NOT EXISTS rm_messages_chat_seq ON rm_messages (chat_id, seq)",
    ]

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
        for c in changes:
            s = c.state
            if c.topic == SENT:
                chat_id = where[c.originator_id][0]
                messages.append((c.originator_id, chat_id, s.sender_id, s.content, c.position,
                                 c.at, s.client_message_id))
                feed.add(c, "new-message", {
                    "id": c.originator_id, "chatId": chat_id, "senderId": s.sender_id,
                    "content": s.content, "seq": c.position, "createdAt": c.at,
                    "deliveryStatus": "sent", "clientMessageId": s.client_message_id,
                }, chat_id=chat_id)
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
                feed.add(c, "message-read" if read else "message-delivered", {
                    "chatId": chat_id, "messageId": c.originator_id, "userId": s.user_id,
                    "at": c.at,
                }, chat_id=chat_id)
        if messages:
            messages.sort()  # in key order: neighbouring rows share B-tree pages
            tx.insert("rm_messages", ("id", "chat_id", "sender_id", "content", "seq",
                                      "created_at", "client_message_id"), messages)
        if receipt_rows:
            # In store order: the first receipt of a kind wins, as one by one.
            tx.executemany(
                "INSERT INTO rm_receipts (message_id, user_id, kind, at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (message_id, user_id, kind) DO NOTHING", receipt_rows)
        if marks:
            tx.executemany(
                "INSERT INTO rm_read_marks (chat_id, user_id, seq) VALUES (%s, %s, %s)"
                " ON CONFLICT (chat_id, user_id) DO UPDATE SET seq = excluded.seq"
                " WHERE rm_read_marks.seq < excluded.seq", marks)
        feed.flush(tx)
