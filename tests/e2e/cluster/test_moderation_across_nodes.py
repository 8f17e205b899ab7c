"""Moderation holds across nodes sharing one PostgreSQL store: a mute, a ban or a block
made through one node holds at once for a write through another (each node's writer
keeps chats cached), and the last use of an invite goes to exactly one of many accepts
spread over two nodes."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess

RACERS = 12


class Nodes:
    def __init__(self, a: ServerProcess, b: ServerProcess) -> None:
        self.a, self.b = a, b
        self.tokens: dict[str, str] = {}

    def user(self, name: str) -> str:
        self.tokens[name] = self.a.token(name)
        return name

    def call(self, node: ServerProcess, user: str, method: str, path: str,
             body: Any = None) -> httpx.Response:
        return httpx.request(method, node.url + path, json=body, timeout=30,
                             headers={"Authorization": f"Bearer {self.tokens[user]}"})


@pytest.fixture
def nodes(server_factory: Callable[..., ServerProcess], postgres_url: str) -> Nodes:
    return Nodes(server_factory(postgres_url, node_id="node-a"),
                 server_factory(postgres_url, node_id="node-b"))


def test_a_mute_ban_or_block_through_one_node_holds_at_once_on_the_other(nodes: Nodes) -> None:
    olga, mo, ben = nodes.user("olga"), nodes.user("mo"), nodes.user("ben")
    a, b = nodes.a, nodes.b
    chat = nodes.call(a, olga, "POST", "/api/chats", {"title": "t", "memberIds": [mo, ben]})
    chat_id = chat.json()["id"]
    # warm node b's cache of the chat: both write through it first
    for user in (mo, ben):
        sent = nodes.call(b, user, "POST", f"/api/chats/{chat_id}/messages", {"content": "hi"})
        assert sent.status_code == 201, sent.text

    assert nodes.call(a, olga, "POST", f"/api/chats/{chat_id}/mutes",
                      {"userId": mo}).status_code == 204
    muted = nodes.call(b, mo, "POST", f"/api/chats/{chat_id}/messages", {"content": "shh"})
    assert muted.status_code == 403 and muted.json()["error"] == "muted", muted.text
    assert nodes.call(a, olga, "POST", f"/api/chats/{chat_id}/bans",
                      {"userId": ben}).status_code == 204
    banned = nodes.call(b, ben, "POST", f"/api/chats/{chat_id}/messages", {"content": "hey"})
    assert banned.status_code == 403, banned.text
    re_added = nodes.call(b, olga, "POST", f"/api/chats/{chat_id}/members", {"userId": ben})
    assert re_added.status_code == 403, re_added.text

    assert nodes.call(a, olga, "DELETE", f"/api/chats/{chat_id}/mutes/{mo}").status_code == 204
    back = nodes.call(b, mo, "POST", f"/api/chats/{chat_id}/messages", {"content": "ok"})
    assert back.status_code == 201, back.text

    direct = nodes.call(b, ben, "POST", "/api/chats", {"memberIds": [mo], "direct": True})
    assert direct.status_code == 201
    direct_id = direct.json()["id"]
    assert nodes.call(b, ben, "POST", f"/api/chats/{direct_id}/messages",
                      {"content": "1"}).status_code == 201
    assert nodes.call(a, mo, "PUT", f"/api/me/blocks/{ben}").status_code == 204
    blocked = nodes.call(b, ben, "POST", f"/api/chats/{direct_id}/messages", {"content": "2"})
    assert blocked.status_code == 403, blocked.text


async def test_the_last_use_of_an_invite_goes_to_one_of_many_accepts_on_two_nodes(
    nodes: Nodes,
) -> None:
    olga = nodes.user("olga")
    racers = [nodes.user(f"racer{i}") for i in range(RACERS)]
    chat = nodes.call(nodes.a, olga, "POST", "/api/chats", {"title": "t", "memberIds": []})
    chat_id = chat.json()["id"]
    code = nodes.call(nodes.a, olga, "POST", f"/api/chats/{chat_id}/invites",
                      {"maxUses": 1}).json()["code"]

    async def accept(i: int, user: str) -> httpx.Response:
        node = nodes.a if i % 2 else nodes.b
        async with httpx.AsyncClient(base_url=node.url, timeout=30) as client:
            return await client.post(f"/api/invites/{code}/accept",
                                     headers={"Authorization": f"Bearer {nodes.tokens[user]}"})

    answers = await asyncio.gather(*(accept(i, u) for i, u in enumerate(racers)))
    assert sorted(r.status_code for r in answers) == [200] + [410] * (RACERS - 1), [
        r.text for r in answers]
    [winner] = [u for u, r in zip(racers, answers, strict=True) if r.status_code == 200]
    for node in (nodes.a, nodes.b):
        members = nodes.call(node, olga, "GET", f"/api/chats/{chat_id}").json()["memberIds"]
        assert sorted(members) == sorted([olga, winner])
