"""The feed as a typed contract: the event names of CONTRACT.md and the payloads
clients receive. Nothing else spells an event name or shapes a message on the wire."""

from enum import StrEnum

import msgspec


class ClientEvent(StrEnum):
    """What a client emits (each may ask for an ack)."""

    SEND_MESSAGE = "send-message"
    JOIN_CHAT = "join-chat"
    LEAVE_CHAT = "leave-chat"
    TYPING_START = "typing-start"
    TYPING_STOP = "typing-stop"
    MESSAGE_DELIVERED = "message-delivered"
    MESSAGE_READ = "message-read"
    PING = "ping"


class ServerEvent(StrEnum):
    """What a client receives. The feed rows of the read models carry the names of
    the stored ones (`GET /api/events` returns them as `type`)."""

    CONNECTED = "connected"
    NEW_MESSAGE = "new-message"
    MESSAGE_DELIVERED = "message-delivered"
    MESSAGE_READ = "message-read"
    USER_TYPING = "user-typing"
    USER_STOPPED_TYPING = "user-stopped-typing"
    USER_ONLINE = "user-online"
    USER_OFFLINE = "user-offline"
    CHAT_CREATED = "chat-created"
    MEMBER_ADDED = "member-added"
    MEMBER_REMOVED = "member-removed"
    PONG = "pong"
    ERROR = "error"


# Room events that come from the store and carry their position as recovery offset.
WITH_OFFSET = frozenset({ServerEvent.NEW_MESSAGE, ServerEvent.MESSAGE_DELIVERED,
                         ServerEvent.MESSAGE_READ})
# Feed rows that change who is in a chat's room.
MEMBERSHIP = frozenset({ServerEvent.CHAT_CREATED, ServerEvent.MEMBER_ADDED,
                        ServerEvent.MEMBER_REMOVED})
PRESENCE = frozenset({ServerEvent.USER_ONLINE, ServerEvent.USER_OFFLINE})


class Camel(msgspec.Struct, rename="camel", kw_only=True):
    pass


class WireMessage(Camel):
    """A message as every client sees it: in history, chat lists and `new-message`."""

    id: str
    chat_id: str
    sender_id: str
    content: str
    seq: int
    created_at: str
    client_message_id: str | None


class NewMessage(WireMessage):
    delivery_status: str = "sent"


class Receipt(Camel):
    """`message-delivered` / `message-read`."""

    chat_id: str
    message_id: str
    user_id: str
    at: str


class ChatCreated(Camel):
    chat_id: str
    member_ids: list[str]


class MemberChanged(Camel):
    """`member-added` / `member-removed`."""

    chat_id: str
    user_id: str
    by: str


class UserOnline(Camel):
    user_id: str


class UserOffline(Camel):
    user_id: str
    last_seen: str


class Typing(Camel):
    """`user-typing` / `user-stopped-typing`."""

    user_id: str
    chat_id: str


class Connected(Camel):
    user_id: str


FeedPayload = NewMessage | Receipt | ChatCreated | MemberChanged | UserOnline | UserOffline


def message_on_wire(message_id: str, chat_id: str, sender_id: str, content: str, seq: int,
                    created_at: str, client_message_id: str | None) -> WireMessage:
    """The one place a stored message becomes its wire shape."""
    return WireMessage(id=message_id, chat_id=chat_id, sender_id=sender_id, content=content,
                       seq=seq, created_at=created_at, client_message_id=client_message_id)


def new_message(message: WireMessage) -> NewMessage:
    return NewMessage(**msgspec.structs.asdict(message))
