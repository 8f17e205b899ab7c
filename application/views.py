"""Read-model shapes, as the contract puts them on the wire (camelCase)."""

from datetime import datetime
from typing import Any

import msgspec

from application.feed import WireMessage


class Camel(msgspec.Struct, rename="camel", kw_only=True):
    pass


class MessageView(WireMessage):
    """A message in history, with who has it and who read it."""

    delivered_to: list[str] = []
    read_by: list[str] = []


class ChatView(Camel):
    id: str
    title: str
    member_ids: list[str]
    created_by: str
    created_at: str


class ChatListItem(Camel):
    id: str
    title: str
    member_ids: list[str]
    created_by: str
    created_at: str
    unread_count: int
    last_message: MessageView | None


class PresenceView(Camel):
    user_id: str
    online: bool
    last_seen: str | None


class FeedItem(Camel):
    """A stored event as a client sees it: its position, type and payload."""

    position: int
    type: str
    chat_id: str | None
    data: dict[str, Any]
    occurred_at: str


class UserView(Camel):
    user_id: str
    display_name: str
    external: bool


def iso(ts: datetime) -> str:
    """UTC with milliseconds, as JavaScript's Date.toISOString() prints it."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
