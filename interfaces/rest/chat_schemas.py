"""Request bodies of chats people run (direct chats, roles, moderation, invites).
Limits come from the domain (domain/chat.py), never typed again."""

from datetime import datetime
from typing import Annotated

import msgspec

from domain.chat import (
    MAX_DESCRIPTION,
    MAX_INVITE_TTL_S,
    MAX_INVITE_USES,
    MAX_REASON,
    MAX_RETENTION_DAYS,
    MAX_TITLE,
)
from interfaces.rest.schemas import Camel, UserId

Reason = Annotated[str, msgspec.Meta(max_length=MAX_REASON)]


class UpdateChatRequest(Camel):
    title: Annotated[str, msgspec.Meta(max_length=MAX_TITLE)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)] | None = None
    # Whole days (admins); null: the server's ESCHAT_RETENTION_DAYS. Absent: unchanged.
    retention_days: (Annotated[int, msgspec.Meta(ge=1, le=MAX_RETENTION_DAYS)] | None
                     | msgspec.UnsetType) = msgspec.UNSET


class UserRequest(Camel):
    """`POST .../owner`."""

    user_id: UserId


class BanRequest(Camel):
    user_id: UserId
    reason: Reason | None = None


class MuteRequest(Camel):
    user_id: UserId
    until: datetime | None = None
    """ISO-8601 UTC, like `createdAt`; absent: until unmuted."""


class ReportRequest(Camel):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON, pattern=r"\S")]


class InviteRequest(Camel):
    ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=MAX_INVITE_TTL_S)] | None = None
    max_uses: Annotated[int, msgspec.Meta(ge=1, le=MAX_INVITE_USES)] | None = None
