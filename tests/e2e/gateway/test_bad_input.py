"""Bad input to every event: a clear error through the ack (or an `error` event
when no ack was asked), the connection stays usable, nobody else is affected,
nothing is stored."""

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from tests.conftest import ServerProcess
from tests.e2e.clients import PyClient
from tests.e2e.conftest import create_chat, history

CHAT = "{chat}"  # replaced by the test's chat id
UNKNOWN = str(uuid4())

CASES: list[tuple[str, str, Any, str, str]] = [
    ("send without content", "send-message", {"chatId": CHAT}, "invalid", "content"),
    ("send without chat", "send-message", {"content": "x"}, "invalid", "chatId"),
    ("send content of wrong type", "send-message", {"chatId": CHAT, "content": 5}, "invalid",
     "content"),
    ("send huge content", "send-message", {"chatId": CHAT, "content": "x" * 4001}, "invalid",
     "4000"),
    ("send empty content", "send-message", {"chatId": CHAT, "content": " "}, "invalid", "empty"),
    ("send to unknown chat", "send-message", {"chatId": UNKNOWN, "content": "x"}, "not_found",
     "chat not found"),
    ("send to malformed chat id", "send-message", {"chatId": "nope", "content": "x"}, "invalid",
     "chatId"),
    ("send a string payload", "send-message", "hello", "invalid", "object"),
    ("send no payload", "send-message", None, "invalid", "object"),
    ("join unknown chat", "join-chat", {"chatId": UNKNOWN}, "not_found", "chat not found"),
    ("join with bad limit", "join-chat", {"chatId": CHAT, "limit": 0}, "invalid", "limit"),
    ("join with limit of wrong type", "join-chat", {"chatId": CHAT, "limit": "many"}, "invalid",
     "limit"),
    ("leave without chat", "leave-chat", {}, "invalid", "chatId"),
    ("typing in unknown chat", "typing-start", {"chatId": UNKNOWN}, "not_found", "chat"),
    ("typing-stop with list payload", "typing-stop", [1, 2], "invalid", "object"),
    ("delivered without message", "message-delivered", {"chatId": CHAT}, "invalid",
     "messageId"),
    ("read unknown message", "message-read", {"chatId": CHAT, "messageId": UNKNOWN},
     "not_found", "message not found"),
    ("read malformed message id", "message-read", {"chatId": CHAT, "messageId": 12}, "invalid",
     "messageId"),
]


def fill(payload: Any, chat_id: str) -> Any:
    if isinstance(payload, dict):
        return {k: (chat_id if v == CHAT else v) for k, v in payload.items()}
    return payload


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess], sqlite_url: str) -> ServerProcess:
    return server_factory(sqlite_url)


async def test_every_bad_event_gets_a_clear_error_and_the_connection_stays_usable(
    server: ServerProcess, py_clients: Callable[[], PyClient]
) -> None:
    alice_token, bob_token = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")
    alice, bob = py_clients(), py_clients()
    await alice.connect(server.url, alice_token)
    await bob.connect(server.url, bob_token, transports=["websocket"])

    for name, event, payload, code, text in CASES:
        ack = await alice.call(event, fill(payload, chat_id))
        assert ack["success"] is False, name
        assert ack["code"] == code, (name, ack)
        assert text in ack["error"], (name, ack)

    # Without an ack the same mistake comes back as an `error` event.
    await alice.sio.emit("send-message", {"chatId": chat_id})
    [error] = await alice.event("error")
    assert error["code"] == "invalid" and "content" in error["error"]

    # Still connected and useful, and bob saw nothing but the one good message.
    assert (await alice.call("ping"))["success"] is True
    good = await alice.call("send-message", {"chatId": chat_id, "content": "fine"})
    assert good["success"] is True
    await bob.event("new-message")
    assert [m[0]["content"] for m in bob.events("new-message")] == ["fine"]
    assert bob.events("error") == []
    assert [m["content"] for m in history(server.url, alice_token, chat_id)] == ["fine"]


async def test_sending_faster_than_the_limit_is_rate_limited_and_stores_nothing_extra(
    server: ServerProcess, py_clients: Callable[[], PyClient]
) -> None:
    alice_token, _ = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")
    alice = py_clients()
    await alice.connect(server.url, alice_token, transports=["websocket"])
    import asyncio

    acks = await asyncio.gather(*(
        alice.call("send-message", {"chatId": chat_id, "content": f"m{i}"}) for i in range(60)
    ))
    stored = [a for a in acks if a["success"]]
    limited = [a for a in acks if not a["success"]]
    assert limited and all(a["code"] == "rate_limited" for a in limited)
    assert 40 <= len(stored) < 60  # the burst of 40 passes, then the limit bites
    assert len(history(server.url, alice_token, chat_id)) == len(stored)
