"""The composition the app uses: Litestar via socketify's ASGI bridge and Socket.IO on the
same App and port."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import socketio
import websockets

from tests.conformance.serverproc import free_port

SCRIPT = Path(__file__).with_name("asgi_server.py")


@pytest.fixture(scope="module")
def bridged() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--port", str(port)],
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        ready = select.select([proc.stdout], [], [], 0.1)[0]
        if ready and proc.stdout.readline().startswith(b"READY"):
            break
        assert proc.poll() is None, "bridged server died"
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(5)


async def test_litestar_and_socketio_share_one_port(bridged: str) -> None:
    async with httpx.AsyncClient(base_url=bridged) as http:
        assert (await http.get("/hello")).json() == {"from": "litestar"}
        handshake = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert handshake.status_code == 200 and handshake.text.startswith("0{")
        assert (await http.get("/socket.io/", params={"EIO": "9"})).status_code == 400
    for transports in (["polling", "websocket"], ["websocket"], ["polling"]):
        client = socketio.AsyncClient()
        await client.connect(bridged, transports=transports, wait_timeout=5)
        assert await client.call("echo", (1, b"\x02"), timeout=5) == (1, b"\x02")
        await client.disconnect()


async def test_websocket_upgrades_elsewhere_are_refused(bridged: str) -> None:
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(bridged.replace("http", "ws") + "/other")
