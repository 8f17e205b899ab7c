"""The chat list per user: chats, members, last message and unread counts.

Rules: a member's unread count is the number of messages of the chat after their
read mark (or their joining) that others sent. A new member starts with nothing
unread (earlier messages are history). Reading a message reads every earlier one:
the count restarts from the messages after it that others sent.

A message costs O(1), not O(members): the chat counts its messages (`total`), each
member's row counts the messages they sent (`own`) and keeps what both counts and
their unread count were when it was last set (a read, their joining). Their count now
is `unread + (total - total_at) - (own - own_at)`, so a message writes the chat's row
and its sender's, and a read writes its reader's (`unread_count`).

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
    unread: int  # when the row was last set (a read, joining)
    total_at: int  # the chat's `total` then
    own: int  # messages this member sent to the chat's main timeline
    own_at: int  # `own` then


def unread_count(row: UnreadRow, total: int) -> int:
    """The member's unread count, `total` being the chat's message count now."""
    return row.unread + (total - row.total_at) - (row.own - row.own_at)


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
    totals: dict[str, int]  # chat id -> its main-timeline message count
    chat_messages: list[ChatMessageRow]
    last_message: dict[str, str]  # chat id -> the message as JSON
    feed: FeedRows  # membership rows are the roster's (application/projections/roster.py)
    titles: dict[str, str]  # chat id -> its new title
    mentions_gone: list[str]  # message ids whose mention rows go (edited, deleted)
    mentions: list[MentionRow]  # then inserted
    patches: list[LastMessagePatch]  # after last_message, in store order
    erased_senders: list[str]  # a last message of theirs is erased, after the patches


class StoredChats(Protocol):
    def unread_rows(self, keys: Iterable[tuple[str, str]]) -> Iterable[UnreadRow]:
        """The rows of these (user id, chat id) that exist."""
        ...
    def totals(self, chat_ids: Iterable[str]) -> Mapping[str, int]: ...
    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        """(chat id, seq) of each stored message among these ids."""
        ...
    def sent_by_others_after(self, chat_id: str, seq: int, user_id: str) -> int: ...


class _Chat:
    def __init__(self, total: int) -> None:
        self.total = total  # its main-timeline messages, this batch's so far included
        self.stored: dict[str, UnreadRow] = {}  # user -> their row as stored
        self.rows: dict[str, UnreadRow] = {}  # user -> their row now (members only)
        self.batch_total = 0  # messages sent in this batch so far
        self.by_sender: dict[str, int] = {}  # of those, per sender
        self.sent: list[tuple[int, str]] = []  # (seq, sender) in this batch

    def set(self, user_id: str, read_seq: int, unread: int, own: int) -> None:
        self.rows[user_id] = UnreadRow(user_id, "", read_seq, unread, self.total, own, own)


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
        wanted: set[tuple[str, str]] = set()  # (user, chat): rows the batch changes
        for e in events:
            chat_id = _chat_of(e)
            if chat_id is None and isinstance(e, MessageReceipt) and e.kind == "read":
                chat_id = where.get(e.message_id, (None, 0))[0]
            if chat_id is None:
                continue
            if isinstance(e, MessageSent):
                wanted.add((e.sender_id, chat_id))
            elif isinstance(e, MarkMoved | MessageReceipt):
                if e.kind == "read":
                    wanted.add((e.user_id, chat_id))
            elif isinstance(e, MemberAdded | InviteAccepted):
                wanted.add((e.user_id, chat_id))
            elif isinstance(e, ChatCreated):
                wanted.update((u, chat_id) for u in e.member_ids)
        totals = stored.totals({chat for _, chat in wanted})
        chats = {chat: _Chat(totals.get(chat, 0)) for _, chat in wanted}
        for loaded in stored.unread_rows(wanted):
            chat = chats[loaded.chat_id]
            chat.stored[loaded.user_id] = chat.rows[loaded.user_id] = loaded

        ops = ChatsOps([], [], [], [], [], {}, [], {}, FeedRows(self.name), {}, [], [], [], [])
        # Message -> its rows at the end (those sent here without mentions: none).
        mentions: dict[str, list[MentionRow]] = {}
        members: dict[tuple[str, str], bool] = {}  # (chat, user) -> member at the end
        last_sent: dict[str, MessageSent] = {}  # chat -> its last message of the batch

        def join(chat_id: str, user_id: str, position: int) -> None:
            members[(chat_id, user_id)] = True
            chat = chats[chat_id]
            if user_id not in chat.rows:
                chat.set(user_id, position, 0, 0)

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
                chat.batch_total += 1
                chat.by_sender[e.sender_id] = chat.by_sender.get(e.sender_id, 0) + 1
                chat.sent.append((e.position, e.sender_id))
                row = chat.rows.get(e.sender_id)
                if row is not None:
                    chat.rows[e.sender_id] = row._replace(own=row.own + 1)
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
                if e.chat_id in chats:
                    chats[e.chat_id].rows.pop(e.user_id, None)
                ops.unread_gone.append((e.user_id, e.chat_id))
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
            if chat.batch_total:
                ops.totals[chat_id] = chat.total
            for user_id, row in chat.rows.items():
                row = row._replace(chat_id=chat_id)
                if chat.stored.get(user_id) != row:  # only the rows that changed
                    ops.unread.append(row)
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
        else:  # the stored ones after it, then all of this batch's so far
            count = (stored.sent_by_others_after(chat_id, seq, user_id) + chat.batch_total
                     - chat.by_sender.get(user_id, 0))
        chat.set(user_id, seq, count, row.own)
