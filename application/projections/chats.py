"""The chat list per user: chats, members, last message and unread counts.

Rules: a member's unread count is the number of messages of the chat after their
read mark (or their joining) that others sent. A new member starts with nothing
unread (earlier messages are history). Reading a message reads every earlier one:
the count restarts from the messages after it that others sent. A batch is
projected in memory: a message costs O(1), not O(members).

Unread counts and `lastMessage` follow the main timeline: a thread reply counts in
neither. Mentions are rows (message, member, seq), replaced by an edit and dropped
by a delete; a member's `unreadMentions` counts those after their read mark, in
the main timeline and in threads. An edit or a delete of the chat's last message
is patched into `lastMessage`, so its deleted content stays nowhere."""

from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

from application.feed import message_on_wire
from application.projections.events import (
    ChatCreated,
    ChatUpdated,
    InviteAccepted,
    MarkMoved,
    MemberAdded,
    MemberBanned,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
    MessageExpired,
    MessageReceipt,
    MessageSent,
    ProjectedEvent,
    UserErased,
)
from application.projections.feed_rows import FeedRows, to_json


class ChatRow(NamedTuple):
    id: str
    title: str
    created_by: str
    created_at: str


class MemberRow(NamedTuple):
    chat_id: str
    user_id: str


class UnreadRow(NamedTuple):
    user_id: str
    chat_id: str
    read_seq: int
    unread: int


class ChatMessageRow(NamedTuple):
    message_id: str
    chat_id: str
    seq: int
    sender_id: str


class MentionRow(NamedTuple):
    message_id: str
    user_id: str
    chat_id: str
    seq: int


class LastMessagePatch(NamedTuple):
    """If the chat's last message is `message_id`, it now has this content (None:
    deleted, or erased when `erased`) and was edited at `edited_at`."""

    chat_id: str
    message_id: str
    content: str | None
    edited_at: str | None
    mentions: list[str]
    erased: bool = False


class ChatsOps(NamedTuple):
    new_chats: list[ChatRow]
    joined: list[MemberRow]  # insert unless there
    left: list[MemberRow]  # delete
    unread: list[UnreadRow]  # upsert
    unread_gone: list[tuple[str, str]]  # (user_id, chat_id) to delete
    chat_messages: list[ChatMessageRow]
    last_message: dict[str, str]  # chat id -> the message as JSON
    feed: FeedRows  # membership rows are the roster's (application/projections/roster.py)
    titles: dict[str, str]  # chat id -> its new title
    mentions_gone: list[str]  # message ids whose mention rows go (edited, deleted)
    mentions: list[MentionRow]  # then inserted
    patches: list[LastMessagePatch]  # after last_message, in store order
    erased_senders: list[str]  # a last message of theirs is erased, after the patches


class StoredChats(Protocol):
    def unread_rows(self, chat_ids: Iterable[str]) -> Iterable[UnreadRow]: ...
    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        """(chat id, seq) of each stored message among these ids."""
        ...
    def sent_by_others_after(self, chat_id: str, seq: int, user_id: str) -> int: ...


class _Unread:
    """One member's row while a batch is projected. Its count is kept lazily: `base`
    at the moment the row was loaded, created or read, plus the chat's messages since
    then that others sent."""

    __slots__ = ("read_seq", "base", "total_at", "own_at")

    def __init__(self, read_seq: int, base: int, total_at: int, own_at: int) -> None:
        self.read_seq, self.base, self.total_at, self.own_at = read_seq, base, total_at, own_at


class _Chat:
    def __init__(self) -> None:
        self.stored: dict[str, tuple[int, int]] = {}  # user -> (read_seq, unread) stored
        self.rows: dict[str, _Unread] = {}
        self.total = 0  # messages sent in this batch so far
        self.by_sender: dict[str, int] = {}
        self.sent: list[tuple[int, str]] = []  # (seq, sender) in this batch

    def unread(self, user_id: str, row: _Unread) -> int:
        own = self.by_sender.get(user_id, 0) - row.own_at
        return row.base + (self.total - row.total_at) - own

    def snapshot(self, user_id: str, read_seq: int, base: int) -> _Unread:
        return _Unread(read_seq, base, self.total, self.by_sender.get(user_id, 0))


def _chat_of(e: ProjectedEvent) -> str | None:
    if isinstance(e, MessageSent | MarkMoved | ChatCreated | MemberAdded | MemberRemoved
                  | MemberBanned | InviteAccepted):
        return e.chat_id
    return None


class ChatsProjection:
    name = "chats"

    def project(self, events: list[ProjectedEvent], stored: StoredChats) -> ChatsOps:
        sent_here = {e.message_id: (e.chat_id, e.position) for e in events
                     if isinstance(e, MessageSent)}
        where = dict(sent_here)
        where.update(stored.where({e.message_id for e in events if isinstance(e, MessageReceipt)
                                   and e.kind == "read"} - sent_here.keys()))
        chats: dict[str, _Chat] = {}
        for e in events:
            chat_id = _chat_of(e)
            if chat_id is None and isinstance(e, MessageReceipt) and e.kind == "read":
                chat_id = where.get(e.message_id, (None, 0))[0]
            if chat_id is not None:
                chats.setdefault(chat_id, _Chat())
        for loaded in stored.unread_rows(chats):
            chat = chats[loaded.chat_id]
            chat.stored[loaded.user_id] = (loaded.read_seq, loaded.unread)
            chat.rows[loaded.user_id] = _Unread(loaded.read_seq, loaded.unread, 0, 0)

        ops = ChatsOps([], [], [], [], [], [], {}, FeedRows(self.name), {}, [], [], [], [])
        # Message -> its rows at the end (those sent here without mentions: none).
        mentions: dict[str, list[MentionRow]] = {}
        members: dict[tuple[str, str], bool] = {}  # (chat, user) -> member at the end
        last_sent: dict[str, MessageSent] = {}  # chat -> its last message of the batch

        def join(chat_id: str, user_id: str, position: int) -> None:
            members[(chat_id, user_id)] = True
            chat = chats[chat_id]
            if user_id not in chat.rows:
                chat.rows[user_id] = chat.snapshot(user_id, position, 0)

        for e in events:
            if isinstance(e, MessageSent):
                if e.mentions:  # most have none: no list per message
                    mentions[e.message_id] = [MentionRow(e.message_id, u, e.chat_id,
                                                         e.position)
                                              for u in e.mentions if u != e.sender_id]
                if e.thread_id is not None:
                    continue  # a thread reply is not in the main timeline
                chat = chats[e.chat_id]
                chat.total += 1
                chat.by_sender[e.sender_id] = chat.by_sender.get(e.sender_id, 0) + 1
                chat.sent.append((e.position, e.sender_id))
                ops.chat_messages.append(ChatMessageRow(e.message_id, e.chat_id, e.position,
                                                        e.sender_id))
                last_sent[e.chat_id] = e  # shaped once per chat, after the loop
            elif isinstance(e, MessageEdited):
                # The editor is the sender: mentions of themself are not among them.
                if e.message_id not in mentions and e.message_id not in sent_here:
                    ops.mentions_gone.append(e.message_id)
                mentions[e.message_id] = [MentionRow(e.message_id, u, e.chat_id, e.seq)
                                          for u in e.mentions]
                ops.patches.append(LastMessagePatch(e.chat_id, e.message_id, e.content, e.at,
                                                    list(e.mentions)))
            elif isinstance(e, MessageDeleted):
                if e.message_id not in mentions and e.message_id not in sent_here:
                    ops.mentions_gone.append(e.message_id)
                mentions[e.message_id] = []
                ops.patches.append(LastMessagePatch(e.chat_id, e.message_id, None, None, []))
            elif isinstance(e, MessageExpired):
                ops.patches.append(LastMessagePatch(e.chat_id, e.message_id, None, None, [],
                                                    erased=True))
            elif isinstance(e, UserErased):
                ops.erased_senders.append(e.user_id)
            elif isinstance(e, MarkMoved):
                if e.kind == "read":
                    self._read(stored, chats[e.chat_id], e.chat_id, e.seq, e.user_id,
                               e.message_id in sent_here)
            elif isinstance(e, MessageReceipt):
                found = where.get(e.message_id)
                if e.kind == "read" and found is not None:
                    self._read(stored, chats[found[0]], found[0], found[1], e.user_id,
                               e.message_id in sent_here)
            elif isinstance(e, ChatCreated):
                ops.new_chats.append(ChatRow(e.chat_id, e.title, e.created_by, e.at))
                for user_id in e.member_ids:
                    join(e.chat_id, user_id, e.position)
            elif isinstance(e, MemberAdded | InviteAccepted):
                join(e.chat_id, e.user_id, e.position)
            elif isinstance(e, MemberRemoved | MemberBanned):
                # A ban of a non-member removes nobody: deleting no row is the same.
                members[(e.chat_id, e.user_id)] = False
                chats[e.chat_id].rows.pop(e.user_id, None)
            elif isinstance(e, ChatUpdated):
                ops.titles[e.chat_id] = e.title

        for chat_id, e in last_sent.items():
            ops.last_message[chat_id] = to_json(message_on_wire(
                e.message_id, e.chat_id, e.sender_id, e.content, e.position, e.at,
                e.client_message_id, e.reply_to, e.thread_id, e.mentions, e.erased))
        ops.mentions.extend(row for rows in mentions.values() for row in rows)
        for (chat_id, user_id), member in members.items():
            (ops.joined if member else ops.left).append(MemberRow(chat_id, user_id))
        for chat_id, chat in chats.items():
            for user_id in chat.stored.keys() - chat.rows.keys():
                ops.unread_gone.append((user_id, chat_id))
            for user_id, row in chat.rows.items():
                final = (row.read_seq, chat.unread(user_id, row))
                if chat.stored.get(user_id) != final:  # only the rows that changed
                    ops.unread.append(UnreadRow(user_id, chat_id, *final))
        return ops

    @staticmethod
    def _read(stored: StoredChats, chat: _Chat, chat_id: str, seq: int, user_id: str,
              sent_here: bool) -> None:
        row = chat.rows.get(user_id)
        if row is None or row.read_seq >= seq:
            return  # not a member, or a mark that does not move
        if sent_here:  # every later message of the chat is in this batch
            count = 0
            for later_seq, sender in reversed(chat.sent):
                if later_seq <= seq:
                    break
                count += sender != user_id
        else:  # the stored ones after it, then all of this batch's
            count = (stored.sent_by_others_after(chat_id, seq, user_id) + chat.total
                     - chat.by_sender.get(user_id, 0))
        chat.rows[user_id] = chat.snapshot(user_id, seq, count)
