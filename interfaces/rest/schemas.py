"""Wire shapes of the REST API that are not read-model views: request bodies
and small responses. msgspec validates them; camelCase on the wire.

Constraints mirror the domain's own checks, so the OpenAPI document tells a
client (and schemathesis) exactly what is accepted."""

from typing import Annotated
from uuid import UUID

import msgspec

from application.views import MessageView

Username = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
                                       description="1-64 letters, digits or _ . @ -")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
UserId = Annotated[str, msgspec.Meta(pattern=r"^[^\s\x00-\x1f]{1,128}$",
                                     description="a user id: 1-128 characters, no whitespace")]
Content = Annotated[str, msgspec.Meta(min_length=1, max_length=4000, pattern=r"\S",
                                      description="1-4000 characters, not only whitespace")]
ClientMessageId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Camel(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=False):
    pass


# -- requests -------------------------------------------------------------------
class RegisterRequest(Camel):
    username: Username
    password: Password
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100,
                                              pattern=r"\S")] | None = None


class LoginRequest(Camel):
    username: Annotated[str, msgspec.Meta(max_length=1024)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class CreateChatRequest(Camel):
    member_ids: Annotated[list[UserId], msgspec.Meta(max_length=999)]
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    direct: bool = False
    """true: the direct chat with the one user of `memberIds`."""
    description: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class AddMemberRequest(Camel):
    user_id: UserId


class SendMessageRequest(Camel):
    content: Content
    client_message_id: ClientMessageId | None = None
    reply_to: UUID | None = None
    """A message of the same chat this one quotes (a reply in the main timeline)."""
    thread_id: UUID | None = None
    """The root of the thread this message lives in (not in the main timeline)."""


class EditMessageRequest(Camel):
    content: Content


class ReadRequest(Camel):
    message_id: UUID


# -- responses ------------------------------------------------------------------
class Registered(Camel):
    user_id: str


class LoginResponse(Camel):
    access_token: str
    token_type: str
    expires_in: int


class HistoryPage(Camel):
    messages: list[MessageView]
    next_before: int | None


class Health(Camel):
    status: str


class Readiness(Camel):
    status: str
    head: int | None = None
    projections: dict[str, int] = {}
    projection_lag: dict[str, int] = {}
    kafka_relay_lag: int | None = None
    """Events stored but not yet acknowledged by Kafka; null without a relay."""
    error: str | None = None

