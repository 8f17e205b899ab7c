"""Privacy settings with stock clients on both backends (CONTRACT "Privacy and
erasure"): with readReceipts off no other socket gets a `message-read` from that
user, live or in a recovery replay; with lastSeen off `user-offline` and
`/api/presence` show no time for them."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.conftest import ServerProcess
from tests.e2e.clients import JsClient, PyClient
from tests.e2e.conftest import create_chat, history


def set_privacy(url: str, token: str, **body: bool) -> None:
    response = httpx.patch(f"{url}/api/me/settings", json=body,
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text


def readers(client: JsClient | PyClient) -> list[str]:
    return [args[0]["userId"] for args in client.events("message-read")]


async def test_a_reader_with_receipts_off_is_never_told_to_anyone_else(
    server_factory: Callable[..., ServerProcess], database_url: str,
    py_clients: Callable[[], PyClient], js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    server = server_factory(database_url)
    tokens = {u: server.token(u) for u in ("alice", "bob", "carol")}
    chat = create_chat(server.url, tokens["alice"], "bob", "carol")
    set_privacy(server.url, tokens["bob"], readReceipts=False)
    alice = await js_clients(server.url)  # with recovery offsets
    assert (await alice.connect(auth={"token": tokens["alice"]}))["type"] == "connect"
    bob, bob_phone, carol = py_clients(), py_clients(), py_clients()
    for client, user in ((bob, "bob"), (bob_phone, "bob"), (carol, "carol")):
        await client.connect(server.url, tokens[user], transports=["websocket"])

    first = await alice.call("send-message", {"chatId": chat, "content": "one"})
    assert (await bob.call("message-read", {"chatId": chat, "messageId": first["messageId"]})
            )["success"] is True
    await carol.call("message-read", {"chatId": chat, "messageId": first["messageId"]})
    await alice.event("message-read", lambda a: a[0]["userId"] == "carol")
    await bob_phone.event("message-read", lambda a: a[0]["userId"] == "carol")
    # bob's own other socket learns his read (his devices agree); nobody else does.
    await bob_phone.event("message-read", lambda a: a[0]["userId"] == "bob")

    # alice is away while bob and carol read the next message: the replay from the
    # store follows the same rule.
    await alice.command("drop")
    await alice.wait(lambda i: i["type"] == "disconnect")
    second = await carol.call("send-message", {"chatId": chat, "content": "two"})
    await bob.call("message-read", {"chatId": chat, "messageId": second["messageId"]})
    await bob_phone.event("message-read", lambda a: a[0]["messageId"] == second["messageId"])
    await alice.command("reconnect")
    back = await alice.wait(lambda i: i["type"] == "connect" and i.get("recovered") is True)
    assert back["recovered"] is True
    await alice.event("new-message", lambda a: a[0]["id"] == second["messageId"])
    third = await alice.call("send-message", {"chatId": chat, "content": "three"})
    await carol.call("message-read", {"chatId": chat, "messageId": third["messageId"]})
    await alice.event("message-read", lambda a: a[0]["messageId"] == third["messageId"])
    await asyncio.sleep(0.3)

    assert readers(alice) == ["carol", "carol"]
    assert readers(carol) == ["carol", "carol"]
    assert "bob" not in readers(carol)
    assert [m["readBy"] for m in history(server.url, tokens["alice"], chat)] == [
        ["carol"], [], ["carol"]]
    chats = httpx.get(f"{server.url}/api/chats",
                      headers={"Authorization": f"Bearer {tokens['bob']}"}).json()
    assert chats[0]["unreadCount"] == 1  # "three", which he has not read


async def test_with_last_seen_off_going_offline_shows_no_time(
    server_factory: Callable[..., ServerProcess], database_url: str,
    py_clients: Callable[[], PyClient], js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    server = server_factory(database_url)
    tokens = {u: server.token(u) for u in ("alice", "bob", "carol")}
    create_chat(server.url, tokens["alice"], "bob", "carol")
    set_privacy(server.url, tokens["bob"], lastSeen=False)
    alice = await js_clients(server.url)
    assert (await alice.connect(auth={"token": tokens["alice"]}))["type"] == "connect"
    bob, carol = py_clients(), py_clients()
    await bob.connect(server.url, tokens["bob"], transports=["websocket"])
    await carol.connect(server.url, tokens["carol"], transports=["websocket"])
    await alice.event("user-online", lambda a: a[0]["userId"] == "carol")

    await bob.close()
    gone = await alice.event("user-offline", lambda a: a[0]["userId"] == "bob")
    assert gone[0] == {"userId": "bob", "lastSeen": None}
    await carol.close()  # carol keeps hers on: her time is shown
    carol_gone = await alice.event("user-offline", lambda a: a[0]["userId"] == "carol")
    assert isinstance(carol_gone[0]["lastSeen"], str) and carol_gone[0]["lastSeen"]

    def presence() -> dict[str, Any]:
        answer = httpx.get(f"{server.url}/api/presence", params={"userIds": "bob,carol"},
                           headers={"Authorization": f"Bearer {tokens['alice']}"}).json()
        return {p["userId"]: p for p in answer}

    now = presence()
    assert now["bob"] == {"userId": "bob", "online": False, "lastSeen": None}
    assert now["carol"]["lastSeen"] == carol_gone[0]["lastSeen"]
    # Turned back on, the time shows again; turned off, it is gone at once.
    set_privacy(server.url, tokens["carol"], lastSeen=False)
    assert presence()["carol"]["lastSeen"] is None
    set_privacy(server.url, tokens["bob"], lastSeen=True)
    assert isinstance(presence()["bob"]["lastSeen"], str)
