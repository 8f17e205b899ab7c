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
    content: str | None  # None: erased (its author's key is destroyed, or it expired)
    client_message_id: str | None
    erased: bool = False
    reply_to: str | None = None  # Message.Sent v1 had no replies, threads or mentions
    thread_id: str | None = None
    mentions: list[str] = []


class MessageEdited(Event, frozen=True, kw_only=True):
    """A new version of the message at `seq`, by its sender."""

    message_id: str
    chat_id: str
    seq: int
    content: str | None  # None: erased
    mentions: list[str]


class MessageExpired(Event, frozen=True, kw_only=True):
    """The message at `seq` is older than its chat keeps: erased."""

    message_id: str
    chat_id: str
    seq: int


class UserErased(Event, frozen=True, kw_only=True):
    """Everything `user_id` wrote reads as erased from now on."""

    user_id: str


class MessageDeleted(Event, frozen=True, kw_only=True):
    message_id: str
    chat_id: str
    seq: int
    by: str


class PinChanged(Event, frozen=True, kw_only=True):
    message_id: str
    chat_id: str
    seq: int
    by: str
    pinned: bool


class ReactionChanged(Event, frozen=True, kw_only=True):
    message_id: str
    chat_id: str
    user_id: str
    emoji: str
    added: bool


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
    kind: str = "group"  # releases before roles stored groups only
    description: str = ""


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


class ChatUpdated(Event, frozen=True, kw_only=True):
    chat_id: str
    title: str
    description: str
    by: str


class RoleChanged(Event, frozen=True, kw_only=True):
    """`admin-added`, `admin-removed` or `owner` (ownership handed to `user_id`)."""

    chat_id: str
    change: Literal["admin-added", "admin-removed", "owner"]
    user_id: str
    by: str


class MemberBanned(Event, frozen=True, kw_only=True):
    """Removes the user if a member."""

    chat_id: str
    user_id: str
    by: str
    reason: str


class MemberUnbanned(Event, frozen=True, kw_only=True):
    chat_id: str
    user_id: str
    by: str


class MemberMuted(Event, frozen=True, kw_only=True):
    chat_id: str
    user_id: str
    by: str
    until: str | None


class MemberUnmuted(Event, frozen=True, kw_only=True):
    chat_id: str
    user_id: str
    by: str


class InviteAccepted(Event, frozen=True, kw_only=True):
    """The user joined by an invite."""

    chat_id: str
    user_id: str
    code: str


class MessageReported(Event, frozen=True, kw_only=True):
    report_id: str
    chat_id: str
    message_id: str
    reporter_id: str
    reason: str


class PrivacyChanged(Event, frozen=True, kw_only=True):
    """A user's privacy settings from here on (CONTRACT "Privacy and erasure")."""

    user_id: str
    read_receipts: bool
    last_seen: bool


ProjectedEvent = (MessageSent | MarkMoved | MessageReceipt | ChatCreated | MemberAdded
                  | MemberRemoved | ConnectionOpened | ConnectionClosed | NodeStarted | NodeGone
                  | ChatUpdated | RoleChanged | MemberBanned | MemberUnbanned | MemberMuted
                  | MemberUnmuted | InviteAccepted | MessageReported | MessageEdited
                  | MessageDeleted | PinChanged | ReactionChanged | PrivacyChanged
                  | MessageExpired | UserErased)
