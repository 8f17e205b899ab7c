"""Privacy settings hold across nodes: changed through one node, they are read from
the store and honoured by the read models every node shares (PostgreSQL)."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from tests.conftest import ServerProcess
from tests.e2e.clients import JsClient, PyClient
from tests.e2e.conftest import create_chat, history


async def test_settings_changed_through_one_node_hold_on_the_others(
    server_factory: Callable[..., ServerProcess], postgres_url: str,
    py_clients: Callable[[], PyClient], js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    nodes = [server_factory(postgres_url, node_id=f"node-{i}") for i in (1, 2)]
    tokens = {u: nodes[0].token(u) for u in ("alice", "bob", "carol")}
    chat = create_chat(nodes[0].url, tokens["alice"], "bob", "carol")
    changed = httpx.patch(f"{nodes[0].url}/api/me/settings",
                          json={"readReceipts": False, "lastSeen": False},
                          headers={"Authorization": f"Bearer {tokens['bob']}"}, timeout=10)
    assert changed.status_code == 200, changed.text
    on_other = httpx.get(f"{nodes[1].url}/api/me/settings",
                         headers={"Authorization": f"Bearer {tokens['bob']}"}, timeout=10)
    assert on_other.json() == {"readReceipts": False, "lastSeen": False}

    alice = await js_clients(nodes[0].url)
    assert (await alice.connect(auth={"token": tokens["alice"]}))["type"] == "connect"
    bob, carol = py_clients(), py_clients()
    await bob.connect(nodes[1].url, tokens["bob"], transports=["websocket"])
    await carol.connect(nodes[1].url, tokens["carol"], transports=["websocket"])
    await alice.event("user-online", lambda a: a[0]["userId"] == "bob")

    sent = await alice.call("send-message", {"chatId": chat, "content": "hi"})
    await bob.call("message-read", {"chatId": chat, "messageId": sent["messageId"]})
    await carol.call("message-read", {"chatId": chat, "messageId": sent["messageId"]})
    await alice.event("message-read", lambda a: a[0]["userId"] == "carol")
    await bob.close()
    gone = await alice.event("user-offline", lambda a: a[0]["userId"] == "bob")
    await asyncio.sleep(0.3)
    assert gone[0]["lastSeen"] is None
    assert [a[0]["userId"] for a in alice.events("message-read")] == ["carol"]
    assert [a[0]["userId"] for a in carol.events("message-read")] == ["carol"]
    for node in nodes:
        [message] = history(node.url, tokens["alice"], chat)
        assert message["readBy"] == ["carol"]
        presence = httpx.get(f"{node.url}/api/presence", params={"userIds": "bob"},
                             headers={"Authorization": f"Bearer {tokens['alice']}"}).json()
        assert presence == [{"userId": "bob", "online": False, "lastSeen": None}]
