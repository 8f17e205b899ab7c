"""The chat list per user: chats, members, last message and unread counts."""

from typing import Any

from application.feed import ChatCreated, MemberChanged, ServerEvent, message_on_wire
from infrastructure.readmodels.common import Feed, Projection, select_in, to_json
from infrastructure.stored_events import (
    CHAT_CREATED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    READ,
    READ_UPTO,
    SENT,
    Change,
    uuid_text,
)


class _Unread:
    """One rm_unread row while a batch is applied. Its count is kept lazily:
    `base` at the moment the row was loaded, created or read, plus the chat's
    messages since then that others sent — so a message costs O(1), not O(members)."""

    __slots__ = ("read_seq", "base", "total_at", "own_at")

    def __init__(self, read_seq: int, base: int, total_at: int, own_at: int) -> None:
        self.read_seq, self.base, self.total_at, self.own_at = read_seq, base, total_at, own_at


class _ChatState:
    """A chat's rm_unread rows and the messages sent to it in this batch."""

    def __init__(self) -> None:
        self.stored: dict[str, tuple[int, int]] = {}  # user -> (read_seq, unread) in the db
        self.rows: dict[str, _Unread] = {}
        self.total = 0  # messages sent in this batch so far
        self.by_sender: dict[str, int] = {}
        self.sent: list[tuple[int, str]] = []  # (seq, sender) in this batch

    def unread(self, user_id: str, row: _Unread) -> int:
        own = self.by_sender.get(user_id, 0) - row.own_at
        return row.base + (self.total - row.total_at) - own

    def snapshot(self, user_id: str, read_seq: int, base: int) -> _Unread:
        return _Unread(read_seq, base, self.total, self.by_sender.get(user_id, 0))


class ChatsProjection(Projection):
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

    def apply(self, tx: Any, changes: list[Change]) -> None:
        sent_here = {c.originator_id: (uuid_text(c.state.chat_id.data), c.position)
                     for c in changes if c.topic == SENT}
        stored_messages = {c.originator_id for c in changes if c.topic == READ} - sent_here.keys()
        where = dict(sent_here)
        for message_id, chat_id, seq in select_in(
            tx, "SELECT message_id, chat_id, seq FROM rm_chat_messages"
            " WHERE message_id IN ({keys})", stored_messages,
        ):
            where[message_id] = (chat_id, int(seq))
        chats = self._load(tx, changes, where)

        feed = Feed(self.name)
        new_chats: list[tuple[str, str, str, str]] = []
        members: dict[tuple[str, str], bool] = {}  # (chat, user) -> member at the end
        chat_messages: list[tuple[str, str, int, str]] = []
        last_message: dict[str, str] = {}

        def join(chat_id: str, user_id: str, position: int) -> None:
            members[(chat_id, user_id)] = True
            chat = chats[chat_id]
            if user_id not in chat.rows:
                # A new member starts with nothing unread: earlier messages are history.
                chat.rows[user_id] = chat.snapshot(user_id, position, 0)

        for c in changes:
            s = c.state
            if c.topic == SENT:
                chat_id = sent_here[c.originator_id][0]
                chat = chats[chat_id]
                chat.total += 1
                chat.by_sender[s.sender_id] = chat.by_sender.get(s.sender_id, 0) + 1
                chat.sent.append((c.position, s.sender_id))
                chat_messages.append((c.originator_id, chat_id, c.position, s.sender_id))
                last_message[chat_id] = to_json(message_on_wire(
                    c.originator_id, chat_id, s.sender_id, s.content, c.position, c.at,
                    s.client_message_id))
            elif c.topic == READ_UPTO:  # a read mark names its chat and seq
                chat_id = uuid_text(s.chat_id.data)
                self._read(tx, chats[chat_id], chat_id, s.seq, s.user_id,
                           uuid_text(s.message_id.data) in sent_here)
            elif c.topic == READ:  # per-message reads of earlier releases
                found = where.get(c.originator_id)
                if found is not None:
                    self._read(tx, chats[found[0]], found[0], found[1], s.user_id,
                               c.originator_id in sent_here)
            elif c.topic == CHAT_CREATED:
                chat_id = c.originator_id
                new_chats.append((chat_id, s.title, s.created_by, c.at))
                for user_id in s.member_ids:
                    join(chat_id, user_id, c.position)
                feed.add(c, ServerEvent.CHAT_CREATED,
                         ChatCreated(chat_id=chat_id, member_ids=list(s.member_ids)),
                         chat_id=chat_id)
            elif c.topic == MEMBER_ADDED:
                join(c.originator_id, s.user_id, c.position)
                feed.add(c, ServerEvent.MEMBER_ADDED,
                         MemberChanged(chat_id=c.originator_id, user_id=s.user_id,
                                       by=s.added_by),
                         chat_id=c.originator_id, user_id=s.user_id)
            elif c.topic == MEMBER_REMOVED:
                members[(c.originator_id, s.user_id)] = False
                chats[c.originator_id].rows.pop(s.user_id, None)
                feed.add(c, ServerEvent.MEMBER_REMOVED,
                         MemberChanged(chat_id=c.originator_id, user_id=s.user_id,
                                       by=s.removed_by),
                         chat_id=c.originator_id, user_id=s.user_id)

        if new_chats:
            tx.insert("rm_chats", ("id", "title", "created_by", "created_at"), new_chats)
        self._write_members(tx, members)
        self._write_unread(tx, chats)
        if chat_messages:
            chat_messages.sort()  # in key order: neighbouring rows share B-tree pages
            tx.insert("rm_chat_messages", ("message_id", "chat_id", "seq", "sender_id"),
                      chat_messages)
        if last_message:
            tx.executemany("UPDATE rm_chats SET last_message = %s WHERE id = %s",
                           [(m, chat_id) for chat_id, m in last_message.items()])
        feed.flush(tx)

    @staticmethod
    def _load(tx: Any, changes: list[Change],
              where: dict[str, tuple[str, int]]) -> dict[str, _ChatState]:
        """The stored rm_unread rows of every chat the batch touches."""
        chats: dict[str, _ChatState] = {}
        for c in changes:
            if c.topic in (CHAT_CREATED, MEMBER_ADDED, MEMBER_REMOVED):
                chats.setdefault(c.originator_id, _ChatState())
            elif c.topic in (SENT, READ) and c.originator_id in where:
                chats.setdefault(where[c.originator_id][0], _ChatState())
            elif c.topic == READ_UPTO:
                chats.setdefault(uuid_text(c.state.chat_id.data), _ChatState())
        for chat_id, user_id, read_seq, unread in select_in(
            tx, "SELECT chat_id, user_id, read_seq, unread FROM rm_unread"
            " WHERE chat_id IN ({keys})", chats,
        ):
            chat = chats[chat_id]
            chat.stored[user_id] = (int(read_seq), int(unread))
            chat.rows[user_id] = _Unread(int(read_seq), int(unread), 0, 0)
        return chats

    @staticmethod
    def _read(tx: Any, chat: _ChatState, chat_id: str, seq: int, user_id: str,
              sent_here: bool) -> None:
        """Reading message `seq` reads everything up to it: the count restarts from
        the messages after it that others sent."""
        row = chat.rows.get(user_id)
        if row is None or row.read_seq >= seq:
            return
        if sent_here:  # every later message of the chat is in this batch
            count = 0
            for later_seq, sender in reversed(chat.sent):
                if later_seq <= seq:
                    break
                count += sender != user_id
        else:  # the stored ones after it, then all of this batch's
            stored = tx.fetchone(
                "SELECT COUNT(*) FROM rm_chat_messages WHERE chat_id = %s AND seq > %s"
                " AND sender_id <> %s", (chat_id, seq, user_id))
            count = int(stored[0]) + chat.total - chat.by_sender.get(user_id, 0)
        chat.rows[user_id] = chat.snapshot(user_id, seq, count)

    @staticmethod
    def _write_members(tx: Any, members: dict[tuple[str, str], bool]) -> None:
        gone = [key for key, member in members.items() if not member]
        if gone:
            tx.executemany("DELETE FROM rm_members WHERE chat_id = %s AND user_id = %s", gone)
        joined = [key for key, member in members.items() if member]
        if joined:
            tx.executemany("INSERT INTO rm_members (chat_id, user_id) VALUES (%s, %s)"
                           " ON CONFLICT DO NOTHING", joined)

    @staticmethod
    def _write_unread(tx: Any, chats: dict[str, _ChatState]) -> None:
        """Only the rows whose final state differs from the stored one."""
        gone: list[tuple[str, str]] = []
        changed: list[tuple[str, str, int, int]] = []
        for chat_id, chat in chats.items():
            for user_id in chat.stored.keys() - chat.rows.keys():
                gone.append((user_id, chat_id))
            for user_id, row in chat.rows.items():
                final = (row.read_seq, chat.unread(user_id, row))
                if chat.stored.get(user_id) != final:
                    changed.append((user_id, chat_id, *final))
        if gone:
            tx.executemany("DELETE FROM rm_unread WHERE user_id = %s AND chat_id = %s", gone)
        if changed:
            tx.executemany(
                "INSERT INTO rm_unread (user_id, chat_id, read_seq, unread) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (user_id, chat_id) DO UPDATE SET read_seq = excluded.read_seq,"
                " unread = excluded.unread", changed)
