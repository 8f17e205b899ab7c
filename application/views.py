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


class EditView(Camel):
    """One version of a message in its audit trail (content null once deleted)."""

    content: str | None
    edited_at: str
    seq: int


class ChatView(Camel):
    id: str
    title: str
    member_ids: list[str]
    created_by: str
    created_at: str
    kind: str = "group"
    owner_id: str | None = None
    admins: list[str] = []
    description: str = ""


class ChatListItem(Camel):
    id: str
    title: str
    member_ids: list[str]
    created_by: str
    created_at: str
    unread_count: int
    last_message: MessageView | None
    unread_mentions: int = 0
    kind: str = "group"
    owner_id: str | None = None
    admins: list[str] = []
    description: str = ""
    other_user_id: str | None = None  # a direct chat's other member, to name it by


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
    # isoformat truncates to milliseconds as the division did; a quarter cheaper than
    # strftime, once per send.
    return ts.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class BanView(Camel):
    user_id: str
    by: str
    reason: str
    at: str


class MuteView(Camel):
    user_id: str
    by: str
    until: str | None


class BlockView(Camel):
    user_id: str
    at: str


class ReportView(Camel):
    id: str
    message_id: str
    reporter_id: str
    reason: str
    at: str


class InviteView(Camel):
    code: str
    expires_at: str | None
    max_uses: int | None


class PrivacySettingsView(Camel):
    """`GET` / `PATCH /api/me/settings`."""

    read_receipts: bool = True
    last_seen: bool = True
