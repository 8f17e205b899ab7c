"""Bad input to every command: a clear domain error, and nothing stored."""

from collections.abc import Awaitable, Callable
from uuid import uuid4

import pytest

from domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from infrastructure.eventstore import head_position
from interfaces.server import Container

UNKNOWN = str(uuid4())


@pytest.fixture
async def chat_and_message(container: Container) -> tuple[str, str]:
    s = container.service
    for user in ("alice", "bob", "mallory"):
        await s.ensure_user(user)
    chat = await s.create_chat("alice", "t", ["bob"])
    sent = await s.send_message("alice", chat.id, "hi")
    return chat.id, sent.message.id


CASES: list[tuple[str, type[DomainError], str, Callable[..., Awaitable[object]]]] = [
    ("send to unknown chat", NotFound, "chat not found",
     lambda s, c, m: s.send_message("alice", UNKNOWN, "x")),
    ("send with malformed chat id", InvalidInput, "chatId must be a UUID",
     lambda s, c, m: s.send_message("alice", "not-a-uuid", "x")),
    ("send empty content", InvalidInput, "content must not be empty",
     lambda s, c, m: s.send_message("alice", c, "   ")),
    ("send oversized content", InvalidInput, "at most 4000",
     lambda s, c, m: s.send_message("alice", c, "x" * 4001)),
    ("send non-string content", InvalidInput, "content must be a string",
     lambda s, c, m: s.send_message("alice", c, 42)),
    ("send with bad clientMessageId", InvalidInput, "clientMessageId",
     lambda s, c, m: s.send_message("alice", c, "x", 7)),
    ("send by non-member", Forbidden, "not a member",
     lambda s, c, m: s.send_message("mallory", c, "x")),
    ("deliver unknown message", NotFound, "message not found",
     lambda s, c, m: s.mark_delivered("bob", c, UNKNOWN)),
    ("deliver with malformed message id", InvalidInput, "messageId must be a UUID",
     lambda s, c, m: s.mark_delivered("bob", c, "nope")),
    ("read by non-member", Forbidden, "not a member",
     lambda s, c, m: s.mark_read("mallory", c, m)),
    ("read in unknown chat", NotFound, "chat not found",
     lambda s, c, m: s.mark_read("bob", UNKNOWN, m)),
    ("create chat with unknown member", NotFound, "user 'ghost' not found",
     lambda s, c, m: s.create_chat("alice", "t", ["ghost"])),
    ("create chat with malformed member id", InvalidInput, "userId",
     lambda s, c, m: s.create_chat("alice", "t", [""])),
    ("create chat with oversized title", InvalidInput, "title",
     lambda s, c, m: s.create_chat("alice", "t" * 201, ["bob"])),
    ("add member by non-member", Forbidden, "not a member",
     lambda s, c, m: s.add_member("mallory", c, "mallory")),
    ("add unknown user", NotFound, "not found",
     lambda s, c, m: s.add_member("alice", c, "ghost")),
    ("remove member from unknown chat", NotFound, "chat not found",
     lambda s, c, m: s.remove_member("alice", UNKNOWN, "bob")),
    ("register a taken username", Conflict, "already exists",
     lambda s, c, m: s.register("alice", "long enough password", None)),
    ("register a malformed username", InvalidInput, "username",
     lambda s, c, m: s.register("no spaces allowed", "long enough password", None)),
    ("register a short password", InvalidInput, "password",
     lambda s, c, m: s.register("newuser", "short", None)),
]


@pytest.mark.parametrize("name,error,text,call", CASES, ids=[c[0] for c in CASES])
async def test_bad_input_raises_clear_error_and_stores_nothing(
    container: Container, chat_and_message: tuple[str, str], name: str,
    error: type[DomainError], text: str, call: Callable[..., Awaitable[object]],
) -> None:
    chat_id, message_id = chat_and_message
    head = head_position(container.store)
    with pytest.raises(error) as raised:
        await call(container.service, chat_id, message_id)
    assert text in raised.value.message
    assert head_position(container.store) == head
