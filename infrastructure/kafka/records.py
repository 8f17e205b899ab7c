"""Stored events as Kafka records: key = chat id, value `{type, position, chatId,
data, occurredAt}` (JSON, msgspec), the event type in a header.

Chat events (Chat.*) carry their chat as the originator id; every other chat event
names it (Message.Sent, Receipts.Delivered / Receipts.Read). Only the per-message
Message.Delivered / Message.Read of releases before issue 12 find it in their
message's Sent event.
Events that belong to no chat (User.*, Connection.*, Node.*) are keyed by their
originator id, so each aggregate's events stay in order, with `chatId: null`."""

from collections import OrderedDict
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from application.views import iso
from domain.chat import chat_of
from domain.message import Message
from domain.user import User
from infrastructure.eventstore import to_event

TYPE_HEADER = "type"
# Attributes that never leave the store: eventsourcing internals and secrets.
_PRIVATE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic",
                      "password_hash"})


class RelayValue(msgspec.Struct, rename="camel"):
    type: str
    position: int
    chat_id: str | None
    data: dict[str, Any]
    occurred_at: str


class RelayRecord(msgspec.Struct, frozen=True):
    position: int
    type: str
    key: bytes
    value: bytes
    timestamp_ms: int
    chat_id: str | None

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        return [(TYPE_HEADER, self.type.encode())]


_encoder = msgspec.json.Encoder()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def event_type(event: Any) -> str:
    """`Message.Sent`, `Chat.MemberAdded`, `User.Registered`, ..."""
    return type(event).__qualname__


def event_data(event: Any) -> dict[str, Any]:
    if isinstance(event, User.Erased):  # the contract's shape: downstream systems purge
        return {"userId": event.user_id}
    data: dict[str, Any] = {"id": str(event.originator_id), "version": event.originator_version}
    for name, value in vars(event).items():
        if name not in _PRIVATE:
            data[_camel(name)] = _plain(value)
    return data


class ChatResolver:
    """Finds the chat of an event; remembers recent messages' chats."""

    def __init__(self, store: Application[UUID], capacity: int = 100_000) -> None:
        self._store = store
        self._capacity = capacity
        self._chats: OrderedDict[UUID, str] = OrderedDict()

    def _remember(self, message_id: UUID, chat_id: str) -> None:
        self._chats[message_id] = chat_id
        self._chats.move_to_end(message_id)
        if len(self._chats) > self._capacity:
            self._chats.popitem(last=False)

    def chat_of(self, event: Any) -> str | None:
        named = chat_of(event)
        if isinstance(event, Message.Sent):
            self._remember(event.originator_id, str(named))
        if named is not None:
            return str(named)
        if isinstance(event, Message.Delivered | Message.Read):
            known = self._chats.get(event.originator_id)
            if known is not None:
                return known
            found = self._chat_from_store(event.originator_id)
            if found is not None:
                self._remember(event.originator_id, found)
            return found
        return None

    def _chat_from_store(self, message_id: UUID) -> str | None:
        """The chat named by the message's first (Sent) event. Blocking."""
        stored = list(self._store.recorder.select_events(message_id, lte=1, limit=1))
        if not stored:
            return None
        first = self._store.mapper.to_domain_event(stored[0])
        chat_id = getattr(first, "chat_id", None)
        return str(chat_id) if chat_id is not None else None


def to_record(store: Application[UUID], resolver: ChatResolver,
              notification: Notification) -> RelayRecord:
    """Blocking (may read the store): call it off the event loop."""
    event = to_event(store, notification)
    chat_id = resolver.chat_of(event)
    name = event_type(event)
    value = RelayValue(type=name, position=notification.id, chat_id=chat_id,
                       data=event_data(event), occurred_at=iso(event.timestamp))
    key = chat_id if chat_id is not None else str(event.originator_id)
    return RelayRecord(position=notification.id, type=name, key=key.encode(),
                       value=_encoder.encode(value),
                       timestamp_ms=int(event.timestamp.timestamp() * 1000), chat_id=chat_id)
