"""The stored events as the projections see them: plain values, one class per kind,
whatever release stored them (infrastructure/stored_events.py decodes them)."""

from typing import Literal

import msgspec

Kind = Literal["delivered", "read"]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    position: int  # in the store: the `seq` clients see
    at: str  # the event's time as clients see it (ISO, milliseconds, Z)


class MessageSent(Event, frozen=True, kw_only=True):
    message_id: str
    chat_id: str
    sender_id: str
    content: str
    client_message_id: str | None


class MarkMoved(Event, frozen=True, kw_only=True):
    """A receipt as a high-water mark: `user_id` has (or read) every message of the
    chat up to `seq`; `members` is the chat's size then."""

    kind: Kind
    chat_id: str
    user_id: str
    message_id: str
    sender_id: str
    seq: int
    members: int


class MessageReceipt(Event, frozen=True, kw_only=True):
    """A per-message receipt, as releases before the marks stored them."""

    kind: Kind
    message_id: str
    user_id: str


class ChatCreated(Event, frozen=True, kw_only=True):
    chat_id: str
    title: str
    member_ids: list[str]
    created_by: str


class MemberAdded(Event, frozen=True, kw_only=True):
    chat_id: str
    user_id: str
    added_by: str


class MemberRemoved(Event, frozen=True, kw_only=True):
    chat_id: str
    user_id: str
    removed_by: str


class ConnectionOpened(Event, frozen=True, kw_only=True):
    connection_id: str
    user_id: str
    node_id: str


class ConnectionClosed(Event, frozen=True, kw_only=True):
    connection_id: str


class NodeStarted(Event, frozen=True, kw_only=True):
    node_key: str
    node_id: str


class NodeGone(Event, frozen=True, kw_only=True):
    """The node restarted or stopped: its connections are over."""

    node_key: str


ProjectedEvent = (MessageSent | MarkMoved | MessageReceipt | ChatCreated | MemberAdded
                  | MemberRemoved | ConnectionOpened | ConnectionClosed | NodeStarted | NodeGone)
