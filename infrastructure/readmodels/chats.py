"""The chat list per user: chats, members, last message and unread counts."""

from collections.abc import Callable
from typing import Any

from application.views import iso
from domain.chat import Chat
from domain.message import Message
from infrastructure.readmodels.common import FeedWriter, Projection, to_json


class ChatsProjection(Projection):
    name = "chats"
    tables = ["rm_chats", "rm_members", "rm_unread", "rm_chat_messages"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_chats (id TEXT PRIMARY KEY, title TEXT NOT NULL,"
        " created_by TEXT NOT NULL, created_at TEXT NOT NULL, last_message TEXT)",
        "CREATE TABLE IF NOT EXISTS rm_members (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " PRIMARY KEY (chat_id, user_id))",
        "CREATE INDEX IF NOT EXISTS rm_members_user ON rm_members (user_id)",
        "CREATE TABLE IF NOT EXISTS rm_unread (user_id TEXT NOT NULL, chat_id TEXT NOT NULL,"
        " read_seq BIGINT NOT NULL, unread INTEGER NOT NULL, PRIMARY KEY (user_id, chat_id))",
        # Just enough of each message to recount unread messages after a read.
        "CREATE TABLE IF NOT EXISTS rm_chat_messages (message_id TEXT PRIMARY KEY,"
        " chat_id TEXT NOT NULL, seq BIGINT NOT NULL, sender_id TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_chat_messages_seq ON rm_chat_messages (chat_id, seq)",
    ]

    def handlers(self) -> dict[type, Callable[..., None]]:
        return {
            Chat.Created: self._created,  # type: ignore[attr-defined]
            Chat.MemberAdded: self._member_added,  # type: ignore[attr-defined]
            Chat.MemberRemoved: self._member_removed,  # type: ignore[attr-defined]
            Message.Sent: self._sent,  # type: ignore[attr-defined]
            Message.Read: self._read,  # type: ignore[attr-defined]
        }

    def _join(self, tx: Any, chat_id: str, user_id: str, position: int) -> None:
        tx.execute(
            "INSERT INTO rm_members (chat_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (chat_id, user_id),
        )
        # A new member starts with nothing unread: earlier messages are history.
        tx.execute(
            "INSERT INTO rm_unread (user_id, chat_id, read_seq, unread) VALUES (%s, %s, %s, 0)"
            " ON CONFLICT (user_id, chat_id) DO NOTHING",
            (user_id, chat_id, position),
        )

    def _created(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        chat_id = str(e.originator_id)
        tx.execute(
            "INSERT INTO rm_chats (id, title, created_by, created_at) VALUES (%s, %s, %s, %s)",
            (chat_id, e.title, e.created_by, iso(e.timestamp)),
        )
        for user_id in e.member_ids:
            self._join(tx, chat_id, user_id, position)
        feed.add("chat-created", {"chatId": chat_id, "memberIds": list(e.member_ids)},
                 chat_id=chat_id)

    def _member_added(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        chat_id = str(e.originator_id)
        self._join(tx, chat_id, e.user_id, position)
        feed.add("member-added", {"chatId": chat_id, "userId": e.user_id, "by": e.added_by},
                 chat_id=chat_id, user_id=e.user_id)

    def _member_removed(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        chat_id = str(e.originator_id)
        tx.execute("DELETE FROM rm_members WHERE chat_id = %s AND user_id = %s",
                   (chat_id, e.user_id))
        tx.execute("DELETE FROM rm_unread WHERE chat_id = %s AND user_id = %s",
                   (chat_id, e.user_id))
        feed.add("member-removed", {"chatId": chat_id, "userId": e.user_id, "by": e.removed_by},
                 chat_id=chat_id, user_id=e.user_id)

    def _sent(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        chat_id = str(e.chat_id)
        tx.execute(
            "INSERT INTO rm_chat_messages (message_id, chat_id, seq, sender_id)"
            " VALUES (%s, %s, %s, %s)",
            (str(e.originator_id), chat_id, position, e.sender_id),
        )
        last = {
            "id": str(e.originator_id),
            "chatId": chat_id,
            "senderId": e.sender_id,
            "content": e.content,
            "seq": position,
            "createdAt": iso(e.timestamp),
            "clientMessageId": e.client_message_id,
        }
        tx.execute("UPDATE rm_chats SET last_message = %s WHERE id = %s", (to_json(last), chat_id))
        tx.execute(
            "UPDATE rm_unread SET unread = unread + 1 WHERE chat_id = %s AND user_id <> %s",
            (chat_id, e.sender_id),
        )

    def _read(self, tx: Any, e: Any, position: int, feed: FeedWriter) -> None:
        row = tx.fetchone("SELECT chat_id, seq FROM rm_chat_messages WHERE message_id = %s",
                          (str(e.originator_id),))
        if row is None:
            return
        chat_id, seq = row
        tx.execute(
            "UPDATE rm_unread SET read_seq = %s, unread = (SELECT COUNT(*) FROM rm_chat_messages m"
            " WHERE m.chat_id = %s AND m.seq > %s AND m.sender_id <> %s)"
            " WHERE user_id = %s AND chat_id = %s AND read_seq < %s",
            (seq, chat_id, seq, e.user_id, e.user_id, chat_id, seq),
        )
