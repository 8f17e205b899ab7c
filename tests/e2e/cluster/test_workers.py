"""`eschat serve --workers N`: N nodes on one port. The kernel spreads connections over
the workers, so a session's polling requests and its upgrade land on any of them; they
must reach the worker that holds the session."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import websockets

from tests.conftest import ROOT, ServerProcess
from tests.e2e.clients import JsClient
from tests.e2e.conftest import create_chat

SESSIONS = 16  # 2^-15 odds that they all land on one worker


def test_sqlite_refuses_more_than_one_worker(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "serve", "--workers", "2",
         "--database-url", f"sqlite:///{tmp_path}/eschat.db", "--port", "0"],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "--workers above 1 needs PostgreSQL" in result.stderr
    assert not (tmp_path / "eschat.db").exists()  # refused before touching anything


async def polling_session(url: str, token: str) -> str:
    """Engine.IO handshake and Socket.IO CONNECT over long-polling, one TCP connection
    per request (as a browser without keep-alive would), then a WebSocket upgrade and
    an acknowledged `ping`. Returns the sid."""
    base = f"{url}/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient() as http:
        opened = (await http.get(base, headers={"Connection": "close"})).text
        sid = json.loads(opened[1:])["sid"]
        posted = await http.post(f"{base}&sid={sid}", headers={"Connection": "close"},
                                 content="40" + json.dumps({"token": token, "recovery": False}))
        assert posted.status_code == 200 and posted.text == "ok"
        connect_reply = ""
        while not connect_reply.startswith("40"):
            polled = await http.get(f"{base}&sid={sid}", headers={"Connection": "close"})
            assert polled.status_code == 200, polled.text
            connect_reply = next((p for p in polled.text.split("\x1e") if p.startswith("40")),
                                 "")
    ws_url = url.replace("http", "ws") + f"/socket.io/?EIO=4&transport=websocket&sid={sid}"
    async with websockets.connect(ws_url) as ws:
        await ws.send("2probe")
        assert await ws.recv() == "3probe"
        await ws.send("5")
        await ws.send('421["ping"]')
        while not (frame := await ws.recv()).startswith("431"):  # skip pings, the pong event
            if frame == "2":
                await ws.send("3")
        assert json.loads(frame[3:])[0]["success"] is True
    return str(sid)


async def test_polling_and_upgrades_reach_the_worker_that_holds_the_session(
    server_factory: Callable[..., ServerProcess], postgres_url: str,
) -> None:
    server = server_factory(postgres_url, workers="2")
    token = server.token("alice")
    sids = await asyncio.gather(*[polling_session(server.url, token) for _ in range(SESSIONS)])
    assert {sid.split(".")[0] for sid in sids} == {"w0", "w1"}  # both workers hold sessions
    forwarded = 0
    for _ in range(20):  # /metrics answers from whichever worker the connection reached
        metrics = httpx.get(server.url + "/metrics", headers={"Connection": "close"}).text
        forwarded += int(float(next(line.split()[1] for line in metrics.splitlines()
                                    if line.startswith("eschat_forwarded_requests "))))
    assert forwarded > 0


async def test_stock_clients_with_default_transports_on_two_workers(
    server_factory: Callable[..., ServerProcess], postgres_url: str,
    js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    server = server_factory(postgres_url, workers="2")
    alice_token, bob_token = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")
    alices = [await js_clients(server.url) for _ in range(3)]
    bobs = [await js_clients(server.url) for _ in range(3)]
    for client, token in [(a, alice_token) for a in alices] + [(b, bob_token) for b in bobs]:
        connected = await client.connect(auth={"token": token})  # polling, then upgrade
        assert connected["type"] == "connect", connected
    for client in alices + bobs:
        await client.wait(lambda i: i["type"] == "upgrade" and i["transport"] == "websocket")

    sent = [(await alice.call("send-message", {"chatId": chat_id, "content": f"hi {i}"}))
            ["messageId"] for i, alice in enumerate(alices)]
    sent.append((await bobs[0].call("send-message", {"chatId": chat_id, "content": "hello"}))
                ["messageId"])
    for client in alices + bobs:
        for message_id in sent:
            await client.event("new-message", lambda args, m=message_id: args[0]["id"] == m)
    await asyncio.sleep(0.3)
    for client in alices + bobs:  # every message once on every socket of the room
        assert sorted(args[0]["id"] for args in client.events("new-message")) == sorted(sent)


async def test_a_worker_that_dies_is_replaced_and_sigterm_stops_them_all(
    server_factory: Callable[..., ServerProcess], postgres_url: str,
) -> None:
    server = server_factory(postgres_url, workers="2", node_id="box")
    token = server.token("alice")
    pids = [int(line.split("(pid ")[1].split(",")[0]) for line in server.log().splitlines()
            if "worker w1 started" in line]
    os.kill(pids[0], signal.SIGKILL)
    for _ in range(150):  # the new w1 opens its store and listens
        if server.log().count("listening on http://127.0.0.1") == 3:
            break
        await asyncio.sleep(0.2)
    assert "worker w1 (pid" in server.log() and "starting it again" in server.log()
    sids = await asyncio.gather(*[polling_session(server.url, token) for _ in range(SESSIONS)])
    assert {sid.split(".")[0] for sid in sids} == {"w0", "w1"}
    assert server.stop() == 0  # graceful: every worker drained and exited 0
    assert "box-w0" in server.log() and "box-w1" in server.log()  # each a node of its own
