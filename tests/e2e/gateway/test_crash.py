"""kill -9 (and SIGTERM) under a stream of sends: after a restart, every
acknowledged message is in history; SIGTERM also exits 0."""

import asyncio
import signal
from collections.abc import Callable

import pytest
import socketio

from tests.conftest import ServerProcess
from tests.e2e.conftest import create_chat, history


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_every_acked_message_survives_the_server_stopping(
    server_factory: Callable[..., ServerProcess], database_url: str, sig: int
) -> None:
    server = server_factory(database_url)
    alice_token, _ = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")
    acked: list[str] = []

    async def sender(n: int) -> None:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(server.url, auth={"token": alice_token, "recovery": False},
                             transports=["websocket"])
        i = 0
        try:
            while client.connected:
                ack = await client.call("send-message",
                                        {"chatId": chat_id, "content": f"{n}-{i}"}, timeout=5)
                if ack.get("success"):
                    acked.append(ack["messageId"])
                i += 1
                await asyncio.sleep(0.06)  # stay under the per-connection rate limit
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                socketio.exceptions.DisconnectedError):
            pass

    senders = [asyncio.create_task(sender(n)) for n in range(4)]
    while len(acked) < 60:
        await asyncio.sleep(0.05)
    server.stop(sig)
    await asyncio.wait(senders, timeout=15)
    assert server.proc.returncode == (0 if sig == signal.SIGTERM else -signal.SIGKILL)

    restarted = server_factory(database_url)
    # The restarted node catches its projections up from the log; give it time.
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        stored = {m["id"] for m in history_all(restarted.url, alice_token, chat_id)}
        missing = [m for m in acked if m not in stored]
        if not missing or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert not missing, f"{len(missing)} of {len(acked)} acked messages lost"


def history_all(url: str, token: str, chat_id: str) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = []
    after = 0
    while True:
        page = history(url, token, chat_id, after=after)
        if not page:
            return messages
        messages.extend(page)
        after = int(str(page[-1]["seq"]))
