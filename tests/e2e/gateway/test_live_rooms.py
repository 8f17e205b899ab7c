"""Rooms follow membership made anywhere; typing and idle connections expire.
(Several nodes: tests/e2e/cluster.)"""

import asyncio
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.e2e.clients import PyClient
from tests.e2e.conftest import create_chat

Pair = tuple[ServerProcess, str, PyClient, PyClient]


@pytest.fixture
async def pair(server_factory: Callable[..., ServerProcess], sqlite_url: str,
               py_clients: Callable[[], PyClient]) -> Pair:
    """A server on SQLite, alice and bob in one chat, both connected (python-socketio)."""
    server = server_factory(sqlite_url)
    alice_token, bob_token = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")
    alice, bob = py_clients(), py_clients()
    await alice.connect(server.url, alice_token, transports=["websocket"])
    await bob.connect(server.url, bob_token, transports=["websocket"])
    return server, chat_id, alice, bob


async def test_membership_changed_over_rest_moves_live_sockets(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
    py_clients: Callable[[], PyClient],
) -> None:
    server = server_factory(sqlite_url)
    alice_token, carol_token = server.token("alice"), server.token("carol")
    server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")
    carol = py_clients()
    await carol.connect(server.url, carol_token, transports=["websocket"])
    auth = {"Authorization": f"Bearer {alice_token}"}

    response = httpx.post(f"{server.url}/api/chats/{chat_id}/members", json={"userId": "carol"},
                          headers=auth)
    assert response.status_code in (200, 201), response.text
    alice = py_clients()
    await alice.connect(server.url, alice_token)
    await alice.call("send-message", {"chatId": chat_id, "content": "welcome carol"})
    await carol.event("new-message", lambda a: a[0]["content"] == "welcome carol")

    response = httpx.delete(f"{server.url}/api/chats/{chat_id}/members/carol", headers=auth)
    assert response.status_code in (200, 204), response.text
    await alice.call("send-message", {"chatId": chat_id, "content": "carol is gone"})
    await alice.call("send-message", {"chatId": chat_id, "content": "marker"})
    await alice.event("new-message", lambda a: a[0]["content"] == "marker")
    await asyncio.sleep(0.3)
    assert [m[0]["content"] for m in carol.events("new-message")] == ["welcome carol"]


async def test_typing_expires_by_itself(
    pair: Pair,
) -> None:
    server, chat_id, alice, bob = pair
    await bob.call("typing-start", {"chatId": chat_id})
    await alice.event("user-typing")
    started = asyncio.get_running_loop().time()
    stopped = await alice.event("user-stopped-typing", timeout=10)
    elapsed = asyncio.get_running_loop().time() - started
    assert stopped == [{"userId": "bob", "chatId": chat_id}]
    assert elapsed > 4  # it expired; bob never sent typing-stop


async def test_idle_connections_are_closed_and_activity_keeps_them(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
    py_clients: Callable[[], PyClient],
) -> None:
    server = server_factory(sqlite_url, inactivity_timeout_s="2")
    token = server.token("alice")
    idle, active = py_clients(), py_clients()
    await idle.connect(server.url, token, transports=["websocket"])
    await active.connect(server.url, token, transports=["websocket"])
    for _ in range(8):
        await asyncio.sleep(0.5)
        assert (await active.call("ping"))["success"]
    assert not idle.sio.connected
    assert active.sio.connected


async def test_metrics_count_open_socket_connections(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
    py_clients: Callable[[], PyClient],
) -> None:
    server = server_factory(sqlite_url)
    token = server.token("alice")
    clients = [py_clients() for _ in range(3)]
    for client in clients:
        await client.connect(server.url, token, transports=["websocket"])
    text = httpx.get(server.url + "/metrics").text
    assert "eschat_connections 3.0" in text
    await clients[0].close()
    await asyncio.sleep(0.3)
    assert "eschat_connections 2.0" in httpx.get(server.url + "/metrics").text


async def test_rest_sends_and_reads_reach_the_room(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
    py_clients: Callable[[], PyClient],
) -> None:
    server = server_factory(sqlite_url)
    alice_token, bob_token = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")
    alice = py_clients()
    await alice.connect(server.url, alice_token, transports=["websocket"])
    bob_auth = {"Authorization": f"Bearer {bob_token}"}

    sent = httpx.post(f"{server.url}/api/chats/{chat_id}/messages", json={"content": "via rest"},
                      headers=bob_auth).json()
    [message] = await alice.event("new-message")
    assert message["id"] == sent["id"] and message["content"] == "via rest"

    mine = await alice.call("send-message", {"chatId": chat_id, "content": "reply"})
    response = httpx.post(f"{server.url}/api/chats/{chat_id}/read",
                          json={"messageId": mine["messageId"]}, headers=bob_auth)
    assert response.status_code == 204
    [read] = await alice.event("message-read")
    assert read["userId"] == "bob" and read["messageId"] == mine["messageId"]


async def test_leave_chat_stops_live_events_and_join_chat_brings_them_back(
    pair: Pair,
) -> None:
    server, chat_id, alice, bob = pair

    assert await bob.call("leave-chat", {"chatId": chat_id}) == {"success": True}
    await alice.call("send-message", {"chatId": chat_id, "content": "unheard"})
    await alice.event("new-message")  # fanned out to the room by now
    await asyncio.sleep(0.2)
    assert bob.events("new-message") == []

    joined = await bob.call("join-chat", {"chatId": chat_id})
    assert [m["content"] for m in joined["messages"]] == ["unheard"]  # history, not live
    await alice.call("send-message", {"chatId": chat_id, "content": "heard"})
    await bob.event("new-message", lambda a: a[0]["content"] == "heard")
    assert [m[0]["content"] for m in bob.events("new-message")] == ["heard"]


async def test_join_chat_gives_each_message_once_between_history_and_live(
    pair: Pair,
) -> None:
    server, chat_id, alice, bob = pair
    await bob.call("leave-chat", {"chatId": chat_id})

    async def stream() -> None:
        for i in range(30):
            await alice.call("send-message", {"chatId": chat_id, "content": f"m{i}"})
            await asyncio.sleep(0.03)

    sending = asyncio.create_task(stream())
    await asyncio.sleep(0.4)
    joined = await bob.call("join-chat", {"chatId": chat_id, "limit": 200})
    await sending
    await bob.event("new-message", lambda a: a[0]["content"] == "m29")
    seen = [m["content"] for m in joined["messages"]]
    seen += [m[0]["content"] for m in bob.events("new-message")]
    assert seen == [f"m{i}" for i in range(30)]  # no gap, no duplicate, in order


async def test_sockets_connecting_while_messages_stream_get_each_later_one_once(
    pair: Pair, py_clients: Callable[[], PyClient],
) -> None:
    """The seam between a connect's replay and live delivery, under a stream: each new
    socket gets a run without gap or duplicate up to the last message. (It cannot tell
    a message lost before a socket's first one from one sent before its connect: the
    rule that skips the replay is tested in tests/unit/test_replay_skip.py.)"""
    server, chat_id, _, _ = pair
    alice_token, bob_token = server.token("alice"), server.token("bob")
    senders = [py_clients() for _ in range(4)]  # each socket has its own send rate limit
    for sender in senders:
        await sender.connect(server.url, alice_token, transports=["websocket"])
    seqs: list[int] = []

    async def stream(sender: PyClient, name: str) -> None:  # within 20/s, bursts of 40
        for i in range(50):
            ack = await sender.call("send-message", {"chatId": chat_id, "content": f"{name}{i}"})
            assert ack["success"], ack
            seqs.append(ack["seq"])
            await asyncio.sleep(0.025)

    sending = asyncio.gather(*(stream(s, f"s{n}-") for n, s in enumerate(senders)))
    sockets: list[PyClient] = []
    while not sending.done() and len(sockets) < 20:
        await asyncio.sleep(0.03)
        socket = py_clients()
        await socket.connect(server.url, bob_token, transports=["websocket"])
        sockets.append(socket)
    await sending
    assert len(sockets) >= 10
    seqs.sort()
    for socket in sockets:
        await socket.event("new-message", lambda a: a[0]["seq"] == seqs[-1])
        seen = [m[0]["seq"] for m in socket.events("new-message")]
        # What a socket gets is everything from some message on: no gap, no duplicate.
        assert seen == seqs[len(seqs) - len(seen):], seen
