"""python-socketio's AsyncClient (5.x) against the server, with its default transports
(it upgrades to WebSocket), websocket only and polling only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio

from tests.conformance.serverproc import ConformanceServer

NS = "/e2e"
TRANSPORTS: list[list[str] | None] = [None, ["websocket"], ["polling"]]


class Recorder:
    def __init__(self, client: socketio.AsyncClient, *events: str) -> None:
        self.queues: dict[str, asyncio.Queue[tuple[Any, ...]]] = {}
        for event in events:
            queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
            self.queues[event] = queue
            client.on(event, self._put(queue), namespace=NS)

    @staticmethod
    def _put(queue: asyncio.Queue[tuple[Any, ...]]) -> Callable[..., None]:
        return lambda *args: queue.put_nowait(args)

    async def next(self, event: str, timeout: float = 5) -> tuple[Any, ...]:
        return await asyncio.wait_for(self.queues[event].get(), timeout)


@pytest.fixture
async def make_client(
    sio_server: ConformanceServer,
) -> AsyncIterator[Callable[..., Any]]:
    clients: list[socketio.AsyncClient] = []

    async def make(
        transports: list[str] | None = None, auth: dict[str, Any] | None = None,
        events: tuple[str, ...] = ("welcome", "room-message"), **kwargs: Any,
    ) -> tuple[socketio.AsyncClient, Recorder]:
        client = socketio.AsyncClient(**kwargs)
        recorder = Recorder(client, *events)
        clients.append(client)
        await client.connect(
            sio_server.url + "?x-app=tests", namespaces=[NS], auth=auth or {},
            transports=transports, wait_timeout=5,
            headers={"Authorization": "Bearer header-token"},
        )
        return client, recorder

    yield make
    for client in clients:
        await client.disconnect()


@pytest.mark.parametrize("transports", TRANSPORTS)
async def test_python_client_connects_with_auth_and_gets_acks(
    make_client: Callable[..., Any], transports: list[str] | None
) -> None:
    client, rec = await make_client(transports, auth={"user": "dave", "token": "x"})
    (welcome,) = await rec.next("welcome")
    assert welcome["auth"] == {"user": "dave", "token": "x"}
    assert welcome["authorization"] == "Bearer header-token"  # from the handshake request
    assert welcome["query"] == {"x-app": "tests"}
    expected = (transports or ["websocket"])[0]
    assert client.transport() == expected
    assert await client.call("echo", (1, "two", [3]), namespace=NS, timeout=5) == (1, "two", [3])
    answer = await client.call("echo", (b"\x00\xff", {"deep": [b"bin"]}), namespace=NS, timeout=5)
    assert answer == (b"\x00\xff", {"deep": [b"bin"]})


async def test_python_clients_on_both_transports_share_a_room(
    make_client: Callable[..., Any],
) -> None:
    ws_client, ws_rec = await make_client(["websocket"])
    poll_client, poll_rec = await make_client(["polling"])
    other, other_rec = await make_client(["websocket"])
    for client in (ws_client, poll_client):
        assert await client.call("join", "shared", namespace=NS, timeout=5) == {
            "rooms": ["shared"]
        }
    offset = await ws_client.call("broadcast", ("shared", {"hi": 1}), namespace=NS, timeout=5)
    assert await ws_rec.next("room-message") == ({"hi": 1}, offset)
    assert await poll_rec.next("room-message") == ({"hi": 1}, offset)
    skip = await poll_client.call(
        "broadcast", ("shared", b"\x01\x02", "skip-self"), namespace=NS, timeout=5
    )
    assert await ws_rec.next("room-message") == (b"\x01\x02", skip)
    with pytest.raises(asyncio.TimeoutError):
        await poll_rec.next("room-message", timeout=0.5)  # the sender was skipped
    with pytest.raises(asyncio.TimeoutError):
        await other_rec.next("room-message", timeout=0.2)  # not in the room
    assert await ws_client.call("count", "shared", namespace=NS, timeout=5) == 2
    await ws_client.call("leave", "shared", namespace=NS, timeout=5)
    assert await poll_client.call("count", "shared", namespace=NS, timeout=5) == 1


async def test_an_emit_to_several_rooms_reaches_each_socket_once(
    make_client: Callable[..., Any],
) -> None:
    """Overlapping rooms (b is in two), a polling member, and a skipped sender:
    each socket gets one copy (the server publishes per room through uWS)."""
    a, a_rec = await make_client(["websocket"])
    b, b_rec = await make_client(["websocket"])
    c, c_rec = await make_client(["polling"])
    d, d_rec = await make_client(["websocket"])
    e, e_rec = await make_client(["websocket"])
    for client, rooms in ((a, ["r1"]), (b, ["r1", "r2"]), (c, ["r2"]), (d, ["r3"])):
        for room in rooms:
            await client.call("join", room, namespace=NS, timeout=5)
    rooms = ["r1", "r2", "r3"]
    offset = await b.call("broadcast", (rooms, {"n": 1}, "skip-self"), namespace=NS, timeout=5)
    for rec in (a_rec, c_rec, d_rec):
        assert await rec.next("room-message") == ({"n": 1}, offset)
    offset = await e.call("broadcast", (rooms, {"n": 2}), namespace=NS, timeout=5)
    for rec in (a_rec, b_rec, c_rec, d_rec):
        assert await rec.next("room-message") == ({"n": 2}, offset)
    for rec in (a_rec, b_rec, c_rec, d_rec, e_rec):  # no second copy, nothing for e
        with pytest.raises(asyncio.TimeoutError):
            await rec.next("room-message", timeout=0.3)


async def test_python_client_refused_connect_raises(sio_server: ConformanceServer) -> None:
    client = socketio.AsyncClient()
    errors: list[Any] = []
    client.on("connect_error", errors.append, namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(sio_server.url, namespaces=[NS], auth={"token": "bad"},
                             transports=["websocket"], wait_timeout=5)
    assert errors == [{"message": "Authentication failed"}]


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
async def test_python_client_reconnects_after_a_drop(
    make_client: Callable[..., Any], transports: list[str]
) -> None:
    client, rec = await make_client(
        transports, reconnection_delay=0.1, reconnection_delay_max=0.2
    )
    (first,) = await rec.next("welcome")
    await client.emit("drop-me", namespace=NS)
    (second,) = await rec.next("welcome", timeout=10)
    assert second["id"] != first["id"]
    assert await client.call("echo", "back", namespace=NS, timeout=5) == "back"


async def test_server_acked_event_from_python_client(make_client: Callable[..., Any]) -> None:
    client, _ = await make_client(["websocket"])
    client.on("question", lambda value: f"answer to {value}", namespace=NS)
    answer = await client.call("server-ack", "q2", namespace=NS, timeout=5)
    assert answer == {"answer": ["answer to q2"]}
