"""Fixtures: the conformance server as a real process, raw clients for the wire."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conformance.serverproc import ConformanceServer, start_server


@pytest.fixture(scope="session")
def conformance() -> Iterator[ConformanceServer]:
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def server_factory() -> Iterator[Callable[..., ConformanceServer]]:
    started: list[ConformanceServer] = []

    def make(*args: str) -> ConformanceServer:
        server = start_server(*args)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
async def http(conformance: ConformanceServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=conformance.url, timeout=5) as client:
        yield client


async def open_polling(client: httpx.AsyncClient, path: str = "/engine.io/") -> str:
    response = await client.get(path, params={"EIO": "4", "transport": "polling"})
    assert response.status_code == 200
    return str(json.loads(response.text[1:])["sid"])


async def recv(ws: ClientConnection, timeout: float = 2.0, skip_pings: bool = False) -> Any:
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if skip_pings and message == "2":
            await ws.send("3")  # stay alive: the reference heartbeat is only 300 + 200 ms
            continue
        return message


async def wait_closed(ws: ClientConnection, timeout: float = 3.0) -> None:
    """Reads until the server closes; fails if it does not within ``timeout``."""
    async def drain() -> None:
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed:
            return

    await asyncio.wait_for(drain(), timeout)


async def sio_connect(base_ws: str, nsp: str = "/", auth: str = "") -> ClientConnection:
    """A raw WebSocket that completed the Engine.IO and Socket.IO handshakes."""
    ws = await websockets.connect(f"{base_ws}/socket.io/?EIO=4&transport=websocket")
    assert (await recv(ws)).startswith("0")
    prefix = "40" if nsp == "/" else f"40{nsp},"
    await ws.send(prefix + auth)
    reply = await recv(ws, skip_pings=True)
    assert reply.startswith(prefix[:2] + ("" if nsp == "/" else nsp + ",") + "{")
    return ws
