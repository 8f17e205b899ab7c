"""Receipts are high-water marks per member and chat; in chats above
ESCHAT_RECEIPTS_ROOM_MAX members they reach only the message's sender
(CONTRACT: "Receipts in big chats"). Both stock clients, a real server."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from tests.conftest import ServerProcess
from tests.e2e.clients import JsClient, PyClient
from tests.e2e.conftest import create_chat, history


async def test_receipts_of_a_big_chat_reach_only_the_sender(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
    py_clients: Callable[[], PyClient], js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    server = server_factory(sqlite_url, receipts_room_max="2")
    tokens = {u: server.token(u) for u in ("alice", "bob", "carol")}
    small = create_chat(server.url, tokens["alice"], "bob")  # 2 members: the whole room
    big = create_chat(server.url, tokens["alice"], "bob", "carol")  # 3 > 2: the sender only
    alice = await js_clients(server.url)  # with recovery offsets
    assert (await alice.connect(auth={"token": tokens["alice"]}))["type"] == "connect"
    bob, carol = py_clients(), py_clients()
    await bob.connect(server.url, tokens["bob"], transports=["websocket"])
    await carol.connect(server.url, tokens["carol"], transports=["websocket"])

    in_small = await alice.call("send-message", {"chatId": small, "content": "small"})
    in_big = await alice.call("send-message", {"chatId": big, "content": "big"})
    await bob.call("message-delivered", {"chatId": small, "messageId": in_small["messageId"]})
    await bob.call("message-read", {"chatId": big, "messageId": in_big["messageId"]})

    read = await alice.event("message-read", lambda a: a[0]["chatId"] == big)
    assert read[0] == {"chatId": big, "messageId": in_big["messageId"], "userId": "bob",
                       "at": read[0]["at"]}
    assert read[1] == str(int(read[1]))  # the sender's copy carries its recovery offset
    await alice.event("message-delivered", lambda a: a[0]["chatId"] == small)
    await bob.event("message-delivered", lambda a: a[0]["chatId"] == small)  # small: room
    await carol.call("message-read", {"chatId": big, "messageId": in_big["messageId"]})
    await alice.event("message-read", lambda a: a[0]["userId"] == "carol")
    await asyncio.sleep(0.3)
    assert bob.events("message-read") == [] and carol.events("message-read") == []
    # Stored either way: they count in readBy and deliveredTo.
    [message] = history(server.url, tokens["alice"], big)
    assert message["readBy"] == ["bob", "carol"] and message["deliveredTo"] == ["bob", "carol"]
    # /api/events (sync) follows the same rule.
    events = httpx.get(f"{server.url}/api/events", params={"after": 0},
                       headers={"Authorization": f"Bearer {tokens['carol']}"}).json()
    assert [e for e in events if e["type"] == "message-read"] == []


async def test_a_receipt_marks_every_earlier_message_and_is_stored_once(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
    py_clients: Callable[[], PyClient],
) -> None:
    server = server_factory(sqlite_url)
    alice_token, bob_token = server.token("alice"), server.token("bob")
    chat = create_chat(server.url, alice_token, "bob")
    alice, bob = py_clients(), py_clients()
    await alice.connect(server.url, alice_token, transports=["websocket"])
    await bob.connect(server.url, bob_token, transports=["websocket"])
    sent = [await alice.call("send-message", {"chatId": chat, "content": f"m{i}"})
            for i in range(3)]
    await bob.call("message-delivered", {"chatId": chat, "messageId": sent[1]["messageId"]})
    await bob.call("message-delivered", {"chatId": chat, "messageId": sent[0]["messageId"]})
    await bob.call("message-read", {"chatId": chat, "messageId": sent[0]["messageId"]})
    await alice.event("message-read", lambda a: a[0]["userId"] == "bob")
    await asyncio.sleep(0.3)
    # The second delivered (an earlier message) moved no mark: one event, not two.
    assert len(alice.events("message-delivered")) == 1
    messages = history(server.url, alice_token, chat)
    assert [m["deliveredTo"] for m in messages] == [["bob"], ["bob"], []]
    assert [m["readBy"] for m in messages] == [["bob"], [], []]
    chats = httpx.get(f"{server.url}/api/chats",
                      headers={"Authorization": f"Bearer {bob_token}"}).json()
    assert chats[0]["unreadCount"] == 2
