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
    # Messages over time
    EDIT_MESSAGE = "edit-message"
    DELETE_MESSAGE = "delete-message"
    ADD_REACTION = "add-reaction"
    REMOVE_REACTION = "remove-reaction"
    PIN_MESSAGE = "pin-message"
    UNPIN_MESSAGE = "unpin-message"


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
    PONG = "pong"
    ERROR = "error"
    # Chats people run: user events (a user's own sockets) and room events.
    CHAT_ADDED = "chat-added"
    CHAT_REMOVED = "chat-removed"
    CHAT_UPDATED = "chat-updated"
    MEMBER_JOINED = "member-joined"
    MEMBER_LEFT = "member-left"
    ADMINS_CHANGED = "admins-changed"
    MEMBER_MUTED = "member-muted"
    MEMBER_UNMUTED = "member-unmuted"
    # Messages over time: room events.
    MESSAGE_EDITED = "message-edited"
    MESSAGE_DELETED = "message-deleted"
    REACTION_ADDED = "reaction-added"
    REACTION_REMOVED = "reaction-removed"
    MESSAGE_PINNED = "message-pinned"
    MESSAGE_UNPINNED = "message-unpinned"


# Room events that come from the store and carry their position as recovery offset.
WITH_OFFSET = frozenset({ServerEvent.NEW_MESSAGE, ServerEvent.MESSAGE_DELIVERED,
                         ServerEvent.MESSAGE_READ, ServerEvent.CHAT_UPDATED,
                         ServerEvent.MEMBER_JOINED, ServerEvent.MEMBER_LEFT,
                         ServerEvent.ADMINS_CHANGED, ServerEvent.MEMBER_MUTED,
                         ServerEvent.MEMBER_UNMUTED, ServerEvent.MESSAGE_EDITED,
                         ServerEvent.MESSAGE_DELETED, ServerEvent.REACTION_ADDED,
                         ServerEvent.REACTION_REMOVED, ServerEvent.MESSAGE_PINNED,
                         ServerEvent.MESSAGE_UNPINNED})
# User events that put a user's sockets into a chat's room or take them out (with
# their offset too: they come from the store).
MEMBERSHIP = frozenset({ServerEvent.CHAT_ADDED, ServerEvent.CHAT_REMOVED})
PRESENCE = frozenset({ServerEvent.USER_ONLINE, ServerEvent.USER_OFFLINE})


class Camel(msgspec.Struct, rename="camel", kw_only=True):
    pass


class WireMessage(Camel):
    """A message as every client sees it: in history, chat lists and `new-message`.
    A deleted one keeps its place with `content: null` and `deleted: true`; an erased
    one (its author erased, or older than its chat keeps) `content: null, erased: true`."""

    id: str
    chat_id: str
    sender_id: str
    content: str | None
    seq: int
    created_at: str
    client_message_id: str | None
    edited_at: str | None = None
    deleted: bool = False
    erased: bool = False
    reply_to: str | None = None
    thread_id: str | None = None
    thread_reply_count: int = 0
    thread_last_reply_at: str | None = None
    reactions: dict[str, list[str]] = {}
    mentions: list[str] = []
    pinned: bool = False


class NewMessage(WireMessage):
    delivery_status: str = "sent"


class Receipt(Camel):
    """`message-delivered` / `message-read`."""

    chat_id: str
    message_id: str
    user_id: str
    at: str


class MessageEdited(Camel):
    chat_id: str
    message_id: str
    content: str | None  # null in the feed once the message is deleted
    edited_at: str
    seq: int


class MessageDeleted(Camel):
    chat_id: str
    message_id: str
    deleted_by: str
    at: str
    seq: int


class ReactionChanged(Camel):
    """`reaction-added` / `reaction-removed`."""

    chat_id: str
    message_id: str
    user_id: str
    emoji: str
    seq: int


class PinChanged(Camel):
    """`message-pinned` / `message-unpinned`."""

    chat_id: str
    message_id: str
    by: str
    seq: int


class WireChat(Camel):
    """A chat as `chat-added` and `chat-updated` carry it (members sorted)."""

    id: str
    title: str
    member_ids: list[str]
    created_by: str
    created_at: str
    kind: str
    owner_id: str | None
    admins: list[str]
    description: str


class ChatAdded(Camel):
    """`chat-added` (to the user who joined) and `chat-updated` (to the room)."""

    chat: WireChat


class ChatRemoved(Camel):
    chat_id: str
    reason: str  # left, removed, banned


class MemberJoined(Camel):
    chat_id: str
    user_id: str
    by: str


class MemberLeft(Camel):
    chat_id: str
    user_id: str
    by: str
    reason: str


class AdminsChanged(Camel):
    chat_id: str
    admins: list[str]
    owner_id: str | None


class MuteChanged(Camel):
    """`member-muted` / `member-unmuted` (`until` null)."""

    chat_id: str
    user_id: str
    until: str | None


class UserOnline(Camel):
    user_id: str


class UserOffline(Camel):
    user_id: str
    last_seen: str | None  # null while the user's lastSeen setting is off


class Typing(Camel):
    """`user-typing` / `user-stopped-typing`."""

    user_id: str
    chat_id: str


class Connected(Camel):
    user_id: str


FeedPayload = (NewMessage | Receipt | UserOnline | UserOffline | ChatAdded | ChatRemoved
               | MemberJoined | MemberLeft | AdminsChanged | MuteChanged | MessageEdited
               | MessageDeleted | ReactionChanged | PinChanged)


def message_on_wire(message_id: str, chat_id: str, sender_id: str, content: str | None,
                    seq: int, created_at: str, client_message_id: str | None,
                    reply_to: str | None = None, thread_id: str | None = None,
                    mentions: list[str] | None = None, erased: bool = False,
                    shape: type[WireMessage] = WireMessage) -> WireMessage:
    """The one place a message, as sent, becomes its wire shape (`shape=NewMessage`:
    the `new-message` payload, built directly)."""
    return shape(id=message_id, chat_id=chat_id, sender_id=sender_id, content=content,
                 seq=seq, created_at=created_at, client_message_id=client_message_id,
                 reply_to=reply_to, thread_id=thread_id, mentions=list(mentions or []),
                 erased=erased)

