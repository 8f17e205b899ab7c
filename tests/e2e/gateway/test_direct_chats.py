"""Direct chats: one per pair whoever opens it first, also when both open it at the
same moment (on one node, and on two nodes sharing PostgreSQL); blocks keep the blocked
user out of the blocker's direct chat and the blocker's sockets free of them."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import ServerProcess
from tests.e2e.clients import PyClient

OPENS = 24  # parallel opens, half from each user


async def open_direct(url: str, token: str, other: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await client.post("/api/chats", json={"memberIds": [other], "direct": True},
                                 headers={"Authorization": f"Bearer {token}"})


def assert_one_chat(answers: list[httpx.Response], a: str, b: str) -> str:
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * (len(answers) - 1) + [201], [r.text for r in answers]
    ids = {r.json()["id"] for r in answers}
    assert len(ids) == 1
    chat = answers[0].json()
    assert chat["kind"] == "direct" and sorted(chat["memberIds"]) == sorted([a, b])
    assert chat["ownerId"] is None and chat["admins"] == []
    return ids.pop()


def get(url: str, token: str, path: str) -> Any:
    response = httpx.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


async def test_parallel_opens_from_both_users_give_one_chat(server: ServerProcess) -> None:
    ta, tb = server.token("ann"), server.token("ben")
    answers = await asyncio.gather(*(
        open_direct(server.url, ta, "ben") if i % 2 else open_direct(server.url, tb, "ann")
        for i in range(OPENS)))
    chat_id = assert_one_chat(list(answers), "ann", "ben")
    # both list it once, named by the other user
    for token, other in ((ta, "ben"), (tb, "ann")):
        listed = [c for c in get(server.url, token, "/api/chats") if c["id"] == chat_id]
        assert len(listed) == 1 and listed[0]["otherUserId"] == other
    # and a later open, whoever asks, is 200 with the same chat
    again = await open_direct(server.url, tb, "ann")
    assert again.status_code == 200 and again.json()["id"] == chat_id


async def test_parallel_opens_on_two_nodes_give_one_chat(
    server_factory: Callable[..., ServerProcess], postgres_url: str,
) -> None:
    node1 = server_factory(postgres_url, node_id="node-1")
    node2 = server_factory(postgres_url, node_id="node-2")
    ta, tb = node1.token("ann"), node1.token("ben")
    answers = await asyncio.gather(*(
        open_direct(node1.url, ta, "ben") if i % 2 else open_direct(node2.url, tb, "ann")
        for i in range(OPENS)))
    chat_id = assert_one_chat(list(answers), "ann", "ben")
    for node in (node1, node2):
        assert get(node.url, ta, f"/api/chats/{chat_id}")["kind"] == "direct"


async def test_a_blocked_user_can_neither_open_nor_write_and_the_blocker_gets_nothing_of_theirs(
    server: ServerProcess, py_clients: Callable[[], PyClient],
) -> None:
    ta, tb, tc = server.token("ann"), server.token("ben"), server.token("cat")
    auth = {"Authorization": f"Bearer {ta}"}
    opened = await open_direct(server.url, ta, "ben")
    assert opened.status_code == 201
    direct = opened.json()["id"]
    group = httpx.post(f"{server.url}/api/chats", json={"title": "g", "memberIds": ["ben", "cat"]},
                       headers=auth).json()["id"]
    ann, ben = py_clients(), py_clients()
    await ann.connect(server.url, ta, transports=["websocket"])
    await ben.connect(server.url, tb, transports=["websocket"])
    first = await ann.call("send-message", {"chatId": direct, "content": "before the block"})
    await ben.event("new-message", lambda a: a[0]["id"] == first["messageId"])

    blocked = httpx.put(f"{server.url}/api/me/blocks/ben", headers=auth)
    assert blocked.status_code == 204, blocked.text
    blocks = get(server.url, ta, "/api/me/blocks")
    assert [b["userId"] for b in blocks] == ["ben"] and blocks[0]["at"].endswith("Z")
    assert get(server.url, tb, "/api/me/blocks") == []  # a block is the blocker's own

    # ben cannot open it, nor write, type or send receipts in it
    again = await open_direct(server.url, tb, "ann")
    assert again.status_code == 403 and again.json()["code"] == "forbidden"
    rest = httpx.post(f"{server.url}/api/chats/{direct}/messages", json={"content": "hey"},
                      headers={"Authorization": f"Bearer {tb}"})
    assert rest.status_code == 403 and rest.json()["code"] == "forbidden"
    for event, payload in (
        ("send-message", {"chatId": direct, "content": "hey"}),
        ("typing-start", {"chatId": direct}),
        ("message-delivered", {"chatId": direct, "messageId": first["messageId"]}),
        ("message-read", {"chatId": direct, "messageId": first["messageId"]}),
    ):
        ack = await ben.call(event, payload)
        assert ack["success"] is False and ack["code"] == "forbidden", (event, ack)
    read = httpx.post(f"{server.url}/api/chats/{direct}/read",
                      json={"messageId": first["messageId"]},
                      headers={"Authorization": f"Bearer {tb}"})
    assert read.status_code == 403, read.text

    # ann still writes to ben; in a group they share, ben is heard as before
    second = await ann.call("send-message", {"chatId": direct, "content": "still mine"})
    assert second["success"] is True
    await ben.event("new-message", lambda a: a[0]["id"] == second["messageId"])
    in_group = await ben.call("send-message", {"chatId": group, "content": "group is fine"})
    await ann.event("new-message", lambda a: a[0]["id"] == in_group["messageId"])
    # a marker from a third user proves ann's socket is caught up: nothing of ben's came
    cat = py_clients()
    await cat.connect(server.url, tc, transports=["websocket"])
    marker = await cat.call("send-message", {"chatId": group, "content": "marker"})
    await ann.event("new-message", lambda a: a[0]["id"] == marker["messageId"])
    from_ben_in_direct = [
        i for i in ann.seen if i.get("type") == "event" and i["args"]
        and isinstance(i["args"][0], dict) and i["args"][0].get("chatId") == direct
        and (i["args"][0].get("senderId") == "ben" or i["args"][0].get("userId") == "ben")]
    assert from_ben_in_direct == []
    history = get(server.url, ta, f"/api/chats/{direct}/messages")["messages"]
    assert [m["senderId"] for m in history] == ["ann", "ann"]
    assert history[0]["readBy"] == [] and history[0]["deliveredTo"] == []

    # unblocking restores all of it
    assert httpx.delete(f"{server.url}/api/me/blocks/ben", headers=auth).status_code == 204
    assert get(server.url, ta, "/api/me/blocks") == []
    back = await ben.call("send-message", {"chatId": direct, "content": "thanks"})
    assert back["success"] is True, back
    await ann.event("new-message", lambda a: a[0]["id"] == back["messageId"])
    assert (await ben.call("typing-start", {"chatId": direct}))["success"] is True
    await ann.event("user-typing", lambda a: a[0] == {"userId": "ben", "chatId": direct})
    assert (await ben.call("message-read", {"chatId": direct,
                                            "messageId": second["messageId"]}))["success"]
    await ann.event("message-read", lambda a: a[0]["userId"] == "ben")
    reopened = await open_direct(server.url, tb, "ann")
    assert reopened.status_code == 200 and reopened.json()["id"] == direct


async def test_a_block_made_before_the_direct_chat_holds_in_it(server: ServerProcess) -> None:
    ta, tb = server.token("ann"), server.token("ben")
    blocked = httpx.put(f"{server.url}/api/me/blocks/ben",
                        headers={"Authorization": f"Bearer {ta}"})
    assert blocked.status_code == 204, blocked.text
    refused = await open_direct(server.url, tb, "ann")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    opened = await open_direct(server.url, ta, "ben")  # the blocker may open it
    assert opened.status_code == 201, opened.text
    write = httpx.post(f"{server.url}/api/chats/{opened.json()['id']}/messages",
                       json={"content": "hey"}, headers={"Authorization": f"Bearer {tb}"})
    assert write.status_code == 403 and write.json()["code"] == "forbidden"


def test_blocking_oneself_or_nobody_is_refused(server: ServerProcess) -> None:
    ta = server.token("ann")
    auth = {"Authorization": f"Bearer {ta}"}
    me = httpx.put(f"{server.url}/api/me/blocks/ann", headers=auth)
    assert me.status_code == 400 and me.json()["code"] == "invalid"
    nobody = httpx.put(f"{server.url}/api/me/blocks/nobody-here", headers=auth)
    assert nobody.status_code == 404 and nobody.json()["code"] == "not_found"
