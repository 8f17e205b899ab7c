"""Message history per chat, with delivered/read receipts."""

from collections.abc import Callable
from typing import Any

from application.views import iso
from domain.message import Message
from infrastructure.readmodels.common import FeedWriter, Projection


class HistoryProjection(Projection):
    name = "history"
    tables = ["rm_messages", "rm_receipts", "rm_read_marks"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_messages (id TEXT PRIMARY KEY, chat_id TEXT NOT NULL,"
        " sender_id TEXT NOT NULL, content TEXT NOT NULL, seq BIGINT NOT NULL,"
        " created_at TEXT NOT NULL, client_message_id TEXT)",
        "CREATE UNIQUE INDEX IF NOT EXISTS rm_messages_chat_seq ON rm_messages (chat_id, seq)",
        "CREATE TABLE IF NOT EXISTS rm_receipts (message_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (message_id, user_id, kind))",
        # "Read" is a high-water mark: reading a message reads all earlier ones.
        "CREATE TABLE IF NOT EXISTS rm_read_marks (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " seq BIGINT NOT NULL, PRIMARY KEY (chat_id, user_id))",
    ]

    def handlers(self) -> dict[type, Callable[..., None]]:
        return {
            Message.Sent: self._sent,  # type: ignore[attr-defined]
            Message.Delivered: self._delivered,  # type: ignore[attr-defined]
            Message.Read: self._read,  # type: ignore[attr-defined]
        }

    def _sent(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        created_at = iso(e.timestamp)
        tx.execute(
            "INSERT INTO rm_messages (id, chat_id, sender_id, content, seq, created_at,"
            " client_message_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (str(e.originator_id), str(e.chat_id), e.sender_id, e.content, position, created_at,
             e.client_message_id),
        )
        feed.add(
            "new-message",
            {
                "id": str(e.originator_id),
                "chatId": str(e.chat_id),
                "senderId": e.sender_id,
                "content": e.content,
                "seq": position,
                "createdAt": created_at,
                "deliveryStatus": "sent",
                "clientMessageId": e.client_message_id,
            },
            chat_id=str(e.chat_id),
        )

    def _receipt(self, tx: Any, e: Any, kind: str, feed: FeedWriter) -> str | None:
        row = tx.fetchone(
            "SELECT chat_id, seq FROM rm_messages WHERE id = %s", (str(e.originator_id),)
        )
        if row is None:
            return None
        chat_id, seq = row
        at = iso(e.timestamp)
        tx.execute(
            "INSERT INTO rm_receipts (message_id, user_id, kind, at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (message_id, user_id, kind) DO NOTHING",
            (str(e.originator_id), e.user_id, kind, at),
        )
        if kind == "read":
            tx.execute(
                "INSERT INTO rm_read_marks (chat_id, user_id, seq) VALUES (%s, %s, %s)"
                " ON CONFLICT (chat_id, user_id) DO UPDATE SET seq = excluded.seq"
                " WHERE rm_read_marks.seq < excluded.seq",
                (chat_id, e.user_id, seq),
            )
        feed.add(
            "message-" + ("read" if kind == "read" else "delivered"),
            {"chatId": chat_id, "messageId": str(e.originator_id), "userId": e.user_id, "at": at},
            chat_id=chat_id,
        )
        return str(chat_id)

    def _delivered(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        self._receipt(tx, e, "delivered", feed)

    def _read(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        self._receipt(tx, e, "read", feed)
