"""Wire shapes of the client -> server events, validated with msgspec."""

from typing import Any

import msgspec


class _Payload(msgspec.Struct, rename="camel", forbid_unknown_fields=False):
    pass


class SendMessage(_Payload):
    chat_id: str
    content: str
    client_message_id: str | None = None
    reply_to: str | None = None
    thread_id: str | None = None


class EditMessage(_Payload):
    chat_id: str
    message_id: str
    content: str


class ReactionRef(_Payload):
    chat_id: str
    message_id: str
    emoji: str


class JoinChat(_Payload):
    chat_id: str
    limit: int = 50


class ChatRef(_Payload):
    chat_id: str


class MessageRef(_Payload):
    chat_id: str
    message_id: str


class PayloadError(ValueError):
    pass


def parse(kind: type[Any], args: tuple[Any, ...]) -> Any:
    """The first argument as `kind`, with a readable message naming the bad field."""
    if not args or not isinstance(args[0], dict):
        raise PayloadError("payload must be an object")
    try:
        return msgspec.convert(args[0], kind)
    except msgspec.ValidationError as e:
        raise PayloadError(str(e).replace("`", "")) from e
