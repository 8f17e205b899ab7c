"""Message history: messages, their receipts, and what happens to them over time
(edits with their audit trail, deletes, reactions, pins, thread counters).

Rules: a receipt is a high-water mark per member and chat (reading a message reads
every earlier one; the read models keep the highest mark); a per-message receipt of
an earlier release counts once per kind, the first one winning, and a read there
also raises the reader's read mark. In chats of more than `receipts_room_max`
members a receipt is told only to the message's sender.

Over time: a thread reply counts on its root (`threadReplyCount`, including replies
deleted later: they keep their place); the first edit archives the original as the
first version of the audit trail; a delete leaves the message's place (id, seq,
sender) and takes its content out of every row that held it: the message, its
versions, and the feed rows of its `new-message` and `message-edited`. An erasure (the
author erased, or the message expired) does the same with `erased: true`.

Privacy: a read by a user whose `readReceipts` is off (at that point of the log)
raises no read mark, only their delivered mark, and its `message-read` reaches
only that user's own sockets; queries leave users whose setting is off now out
of `readBy`. Every mark that moves is also logged with its position, and every
reaction change's position per message, so a chat can be shown as it stood at a
position (application/time_travel.py) without replaying the log."""

from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol, cast

from application.feed import MessageDeleted as DeletedPayload
from application.feed import MessageEdited as EditedPayload
from application.feed import NewMessage, Receipt, ServerEvent, message_on_wire
from application.feed import PinChanged as PinPayload
from application.feed import ReactionChanged as ReactionPayload
from application.projections.events import (
    MarkMoved,
    MessageDeleted,
    MessageEdited,
    MessageExpired,
    MessageReceipt,
    MessageSent,
    PinChanged,
    PrivacyChanged,
    ProjectedEvent,
    ReactionChanged,
    UserErased,
)
from application.projections.feed_rows import FeedRows, to_json

RECEIPTS_ROOM_MAX = 100


class MessageRow(NamedTuple):
    id: str
    chat_id: str
    sender_id: str
    content: str
    seq: int
    created_at: str
    client_message_id: str | None
    reply_to: str | None
    thread_id: str | None
    mentions: str  # JSON list
    erased: int


class ThreadReply(NamedTuple):
    """The root gains a reply at `at`."""

    root_id: str
    at: str


class EditRow(NamedTuple):
    """A new version of a message (archive the original first if it has none)."""

    message_id: str
    seq: int
    content: str | None  # None: erased
    edited_at: str
    mentions: str  # JSON list


class PinRow(NamedTuple):
    message_id: str
    pinned: int
    pinned_seq: int | None


class ReactionRow(NamedTuple):
    message_id: str
    emoji: str
    user_id: str
    position: int


class DeleteRow(NamedTuple):
    message_id: str
    seq: int


class ReceiptRow(NamedTuple):
    """Insert unless (message_id, user_id, kind) is there already."""

    message_id: str
    user_id: str
    kind: str
    at: str


class MarkRow(NamedTuple):
    """Raise (chat_id, user_id)'s mark to seq, never lower it."""

    chat_id: str
    user_id: str
    seq: int


class MarkLogRow(NamedTuple):
    """A mark that others may see moved: (chat, user, kind) reaches seq at position."""

    chat_id: str
    user_id: str
    kind: str
    seq: int
    position: int


class HistoryOps(NamedTuple):
    messages: list[MessageRow]
    receipts: list[ReceiptRow]
    read_marks: list[MarkRow]
    delivered_marks: list[MarkRow]
    feed: FeedRows
    thread_replies: list[ThreadReply]
    edits: list[EditRow]  # in store order
    pins: list[PinRow]  # the last per message
    reactions_gone: list[tuple[str, str, str]]  # (message, emoji, user) removed in the batch
    reactions: list[ReactionRow]  # then added (the last add per key)
    deletes: list[DeleteRow]  # applied last: nothing after a delete brings content back
    receipt_privacy: dict[str, bool]  # user -> readReceipts, the last of the batch
    mark_log: list[MarkLogRow]
    reaction_log: list[tuple[str, int]]  # (message id, position) of each reaction change
    expired: list[str]  # messages erased by retention, applied with the deletes
    erased_users: list[str]  # every message of these users is erased, applied last


class StoredMessages(Protocol):
    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        """(chat id, seq) of each stored message among these ids."""
        ...

    def receipts_hidden(self, user_ids: Iterable[str]) -> set[str]:
        """Those of these users whose readReceipts setting is off."""
        ...


class HistoryProjection:
    name = "history"

    def __init__(self, receipts_room_max: int = RECEIPTS_ROOM_MAX) -> None:
        self.receipts_room_max = receipts_room_max

    @staticmethod
    def lookups(events: list[ProjectedEvent]) -> set[str]:
        """Messages the batch refers to without naming their chat (old receipts)."""
        sent = {e.message_id for e in events if isinstance(e, MessageSent)}
        return {e.message_id for e in events
                if isinstance(e, MessageReceipt) and e.message_id not in sent}

    def project(self, events: list[ProjectedEvent], stored: StoredMessages) -> HistoryOps:
        ops = HistoryOps([], [], [], [], FeedRows(self.name), [], [], [], [], [], [], {}, [], [],
                         [], [])
        hidden = self._hidden(events, stored)
        pins: dict[str, PinRow] = {}
        reactions: dict[tuple[str, str, str], ReactionRow | None] = {}
        where: dict[str, tuple[str, int]] = dict(stored.where(self.lookups(events)))
        for e in events:
            if isinstance(e, PrivacyChanged):
                ops.receipt_privacy[e.user_id] = e.read_receipts
                (hidden.discard if e.read_receipts else hidden.add)(e.user_id)
            elif isinstance(e, MarkMoved):
                read = e.kind == "read"
                private = read and e.user_id in hidden
                # A private read tells others nothing: it counts as delivered only.
                kind = "delivered" if private or not read else "read"
                (ops.read_marks if kind == "read" else ops.delivered_marks).append(
                    MarkRow(e.chat_id, e.user_id, e.seq))
                ops.mark_log.append(MarkLogRow(e.chat_id, e.user_id, kind, e.seq, e.position))
                told = (e.user_id if private
                        else e.sender_id if e.members > self.receipts_room_max else None)
                ops.feed.add(e, ServerEvent.MESSAGE_READ if read else ServerEvent.MESSAGE_DELIVERED,
                             Receipt(chat_id=e.chat_id, message_id=e.message_id,
                                     user_id=e.user_id, at=e.at), chat_id=e.chat_id,
                             user_id=told)
            elif isinstance(e, MessageSent):
                where[e.message_id] = (e.chat_id, e.position)
                message = cast(NewMessage, message_on_wire(
                    e.message_id, e.chat_id, e.sender_id, e.content, e.position, e.at,
                    e.client_message_id, e.reply_to, e.thread_id, e.mentions, e.erased,
                    shape=NewMessage))
                ops.messages.append(MessageRow(e.message_id, e.chat_id, e.sender_id,
                                               e.content or "", e.position, e.at,
                                               e.client_message_id, e.reply_to, e.thread_id,
                                               to_json(e.mentions), int(e.erased)))
                if e.thread_id is not None:
                    ops.thread_replies.append(ThreadReply(e.thread_id, e.at))
                ops.feed.add(e, ServerEvent.NEW_MESSAGE, message, chat_id=e.chat_id)
            elif isinstance(e, MessageEdited):
                ops.edits.append(EditRow(e.message_id, e.position, e.content, e.at,
                                         to_json(e.mentions)))
                ops.feed.add(e, ServerEvent.MESSAGE_EDITED, EditedPayload(
                    chat_id=e.chat_id, message_id=e.message_id, content=e.content,
                    edited_at=e.at, seq=e.position), chat_id=e.chat_id)
            elif isinstance(e, MessageExpired):
                ops.expired.append(e.message_id)
            elif isinstance(e, UserErased):
                ops.erased_users.append(e.user_id)
            elif isinstance(e, MessageDeleted):
                ops.deletes.append(DeleteRow(e.message_id, e.seq))
                ops.feed.add(e, ServerEvent.MESSAGE_DELETED, DeletedPayload(
                    chat_id=e.chat_id, message_id=e.message_id, deleted_by=e.by, at=e.at,
                    seq=e.position), chat_id=e.chat_id)
            elif isinstance(e, PinChanged):
                pins[e.message_id] = PinRow(e.message_id, int(e.pinned),
                                            e.position if e.pinned else None)
                ops.feed.add(e, ServerEvent.MESSAGE_PINNED if e.pinned
                             else ServerEvent.MESSAGE_UNPINNED, PinPayload(
                                 chat_id=e.chat_id, message_id=e.message_id, by=e.by,
                                 seq=e.position), chat_id=e.chat_id)
            elif isinstance(e, ReactionChanged):
                key = (e.message_id, e.emoji, e.user_id)
                ops.reaction_log.append((e.message_id, e.position))
                if not e.added:
                    ops.reactions_gone.append(key)
                reactions[key] = (ReactionRow(e.message_id, e.emoji, e.user_id, e.position)
                                  if e.added else None)
                ops.feed.add(e, ServerEvent.REACTION_ADDED if e.added
                             else ServerEvent.REACTION_REMOVED, ReactionPayload(
                                 chat_id=e.chat_id, message_id=e.message_id,
                                 user_id=e.user_id, emoji=e.emoji, seq=e.position),
                             chat_id=e.chat_id)
            elif isinstance(e, MessageReceipt):
                found = where.get(e.message_id)
                if found is None:
                    continue  # a receipt of a message no one stored: nothing to show
                chat_id, seq = found
                read = e.kind == "read"
                private = read and e.user_id in hidden
                ops.receipts.append(ReceiptRow(e.message_id, e.user_id,
                                               "delivered" if private else e.kind, e.at))
                if read and not private:
                    ops.read_marks.append(MarkRow(chat_id, e.user_id, seq))
                ops.mark_log.append(MarkLogRow(chat_id, e.user_id, "read" if read and not private
                                               else "delivered", seq, e.position))
                ops.feed.add(e, ServerEvent.MESSAGE_READ if read else ServerEvent.MESSAGE_DELIVERED,
                             Receipt(chat_id=chat_id, message_id=e.message_id,
                                     user_id=e.user_id, at=e.at), chat_id=chat_id,
                             user_id=e.user_id if private else None)
        # One row per key, the highest mark: what raising them one by one leaves.
        for marks in (ops.read_marks, ops.delivered_marks):
            highest: dict[tuple[str, str], int] = {}
            for m in marks:
                highest[(m.chat_id, m.user_id)] = max(m.seq, highest.get((m.chat_id, m.user_id), 0))
            marks[:] = [MarkRow(c, u, seq) for (c, u), seq in highest.items()]
        ops.pins.extend(pins.values())
        ops.reactions.extend(r for r in reactions.values() if r is not None)
        return ops

    @staticmethod
    def _hidden(events: list[ProjectedEvent], stored: StoredMessages) -> set[str]:
        """Readers of the batch whose readReceipts are off before it."""
        readers = {e.user_id for e in events
                   if isinstance(e, MarkMoved | MessageReceipt) and e.kind == "read"}
        return set(stored.receipts_hidden(readers)) if readers else set()
