"""Message history: messages and their receipts.

Rules: a receipt is a high-water mark per member and chat (reading a message reads
every earlier one; the read models keep the highest mark); a per-message receipt of
an earlier release counts once per kind, the first one winning, and a read there
also raises the reader's read mark. In chats of more than `receipts_room_max`
members a receipt is told only to the message's sender."""

from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

from application.feed import Receipt, ServerEvent, message_on_wire, new_message
from application.projections.events import MarkMoved, MessageReceipt, MessageSent, ProjectedEvent
from application.projections.feed_rows import FeedRows

RECEIPTS_ROOM_MAX = 100


class MessageRow(NamedTuple):
    id: str
    chat_id: str
    sender_id: str
    content: str
    seq: int
    created_at: str
    client_message_id: str | None


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


class HistoryOps(NamedTuple):
    messages: list[MessageRow]
    receipts: list[ReceiptRow]
    read_marks: list[MarkRow]
    delivered_marks: list[MarkRow]
    feed: FeedRows


class StoredMessages(Protocol):
    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        """(chat id, seq) of each stored message among these ids."""
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
        ops = HistoryOps([], [], [], [], FeedRows(self.name))
        where: dict[str, tuple[str, int]] = dict(stored.where(self.lookups(events)))
        for e in events:
            if isinstance(e, MarkMoved):
                read = e.kind == "read"
                (ops.read_marks if read else ops.delivered_marks).append(
                    MarkRow(e.chat_id, e.user_id, e.seq))
                ops.feed.add(e, ServerEvent.MESSAGE_READ if read else ServerEvent.MESSAGE_DELIVERED,
                             Receipt(chat_id=e.chat_id, message_id=e.message_id,
                                     user_id=e.user_id, at=e.at), chat_id=e.chat_id,
                             user_id=e.sender_id if e.members > self.receipts_room_max else None)
            elif isinstance(e, MessageSent):
                where[e.message_id] = (e.chat_id, e.position)
                message = message_on_wire(e.message_id, e.chat_id, e.sender_id, e.content,
                                          e.position, e.at, e.client_message_id)
                ops.messages.append(MessageRow(e.message_id, e.chat_id, e.sender_id, e.content,
                                               e.position, e.at, e.client_message_id))
                ops.feed.add(e, ServerEvent.NEW_MESSAGE, new_message(message),
                             chat_id=e.chat_id)
            elif isinstance(e, MessageReceipt):
                found = where.get(e.message_id)
                if found is None:
                    continue  # a receipt of a message no one stored: nothing to show
                chat_id, seq = found
                read = e.kind == "read"
                ops.receipts.append(ReceiptRow(e.message_id, e.user_id, e.kind, e.at))
                if read:
                    ops.read_marks.append(MarkRow(chat_id, e.user_id, seq))
                ops.feed.add(e, ServerEvent.MESSAGE_READ if read else ServerEvent.MESSAGE_DELIVERED,
                             Receipt(chat_id=chat_id, message_id=e.message_id,
                                     user_id=e.user_id, at=e.at), chat_id=chat_id)
        # One row per key, the highest mark: what raising them one by one leaves.
        for marks in (ops.read_marks, ops.delivered_marks):
            highest: dict[tuple[str, str], int] = {}
            for m in marks:
                highest[(m.chat_id, m.user_id)] = max(m.seq, highest.get((m.chat_id, m.user_id), 0))
            marks[:] = [MarkRow(c, u, seq) for (c, u), seq in highest.items()]
        return ops
