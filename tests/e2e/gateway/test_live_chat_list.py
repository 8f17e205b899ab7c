"""The live chat list (CONTRACT.md, "Chats people run"), seen by stock clients: a user
added while connected gets `chat-added` and the chat's next messages; a user removed,
banned or leaving gets `chat-removed` and nothing of the chat after it, not even through
connection-state recovery; the room gets `member-joined`, `member-left`,
`admins-changed`, `chat-updated`, `member-muted` / `member-unmuted` as the contract
shapes them; on another node too."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import ServerProcess
from tests.e2e.clients import JsClient, Observed, PyClient


class Rest:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.headers = url, {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, path: str, body: Any = None, status: int = 204) -> Any:
        r = httpx.request(method, self.url + path, json=body, headers=self.headers, timeout=30)
        assert r.status_code == status, r.text
        return r.json() if r.content else None


def group(rest: Rest, *members: str, title: str = "t") -> str:
    return str(rest("POST", "/api/chats", {"title": title, "memberIds": list(members)}, 201)["id"])


def of_chat(client: Observed, chat_id: str) -> list[tuple[str, Any]]:
    """Every event the client saw that concerns the chat, in order."""
    return [(i["event"], i["args"][0]) for i in client.seen
            if i.get("type") == "event" and i["args"] and isinstance(i["args"][0], dict)
            and (i["args"][0].get("chatId") == chat_id
                 or (i["args"][0].get("chat") or {}).get("id") == chat_id)]


async def caught_up(client: Observed, rest: Rest, marker_chat: str) -> None:
    """A message in another chat of the client's reaches it: all before it has too."""
    sent = rest("POST", f"/api/chats/{marker_chat}/messages", {"content": "marker"}, 201)
    await client.event("new-message", lambda a: a[0]["id"] == sent["id"])


async def test_a_user_added_while_connected_gets_chat_added_then_the_chats_messages(
    server: ServerProcess, js_clients: Callable[[str], Awaitable[JsClient]],
    py_clients: Callable[[], PyClient],
) -> None:
    owner_token, ned_token = server.token("olga"), server.token("ned")
    server.token("mia")
    owner = Rest(server.url, owner_token)
    chat_id = group(owner, "mia", title="friends")
    before = owner("POST", f"/api/chats/{chat_id}/messages", {"content": "before ned"}, 201)
    olga = py_clients()
    await olga.connect(server.url, owner_token)
    ned = await js_clients(server.url)  # socket.io-client with recovery offsets
    assert (await ned.connect(auth={"token": ned_token}))["type"] == "connect"

    owner("POST", f"/api/chats/{chat_id}/members", {"userId": "ned"}, 200)
    added = await ned.event("chat-added")
    chat = added[0]["chat"]
    assert chat["id"] == chat_id and chat["title"] == "friends"
    assert sorted(chat["memberIds"]) == ["mia", "ned", "olga"]
    assert chat["kind"] == "group" and chat["ownerId"] == "olga" and chat["admins"] == ["olga"]
    assert added[1].isdigit()  # a stored event: its recovery offset comes last
    joined = {"chatId": chat_id, "userId": "ned", "by": "olga"}
    assert (await olga.event("member-joined"))[0] == joined
    assert (await ned.event("member-joined"))[0] == joined  # the newcomer sees it too

    sent = await olga.call("send-message", {"chatId": chat_id, "content": "welcome"})
    await ned.event("new-message", lambda a: a[0]["id"] == sent["messageId"])
    seen = of_chat(ned, chat_id)
    assert [e for e, _ in seen] == ["chat-added", "member-joined", "new-message"]
    assert before["id"] not in [p.get("id") for _, p in seen]  # history is for join-chat
    # he writes in it at once, and the room hears him
    mine = await ned.call("send-message", {"chatId": chat_id, "content": "thanks"})
    await olga.event("new-message", lambda a: a[0]["id"] == mine["messageId"])

    # a chat created with him, and one joined by invite, are added as well
    created = group(owner, "ned", title="second")
    assert (await ned.event("chat-added", lambda a: a[0]["chat"]["id"] == created))
    third = group(owner, title="third")
    code = owner("POST", f"/api/chats/{third}/invites", {}, 201)["code"]
    Rest(server.url, ned_token)("POST", f"/api/invites/{code}/accept", None, 200)
    await ned.event("chat-added", lambda a: a[0]["chat"]["id"] == third)
    assert (await olga.event("member-joined", lambda a: a[0]["chatId"] == third))[0] == {
        "chatId": third, "userId": "ned", "by": "ned"}


async def test_removed_banned_and_leaving_users_get_chat_removed_and_nothing_after_it(
    server: ServerProcess, js_clients: Callable[[str], Awaitable[JsClient]],
    py_clients: Callable[[], PyClient],
) -> None:
    tokens = {u: server.token(u) for u in ("olga", "ben", "rob", "lea")}
    owner = Rest(server.url, tokens["olga"])
    chat_id = group(owner, "ben", "rob", "lea")
    markers = {u: group(owner, u, title=f"marker-{u}") for u in ("ben", "rob", "lea")}
    olga = py_clients()
    await olga.connect(server.url, tokens["olga"])
    users: dict[str, JsClient] = {}
    for user in ("ben", "rob", "lea"):
        users[user] = await js_clients(server.url)
        assert (await users[user].connect(auth={"token": tokens[user]}))["type"] == "connect"

    owner("POST", f"/api/chats/{chat_id}/bans", {"userId": "ben", "reason": "spam"})
    owner("DELETE", f"/api/chats/{chat_id}/members/rob")
    Rest(server.url, tokens["lea"])("POST", f"/api/chats/{chat_id}/leave")
    for user, by, reason in (("ben", "olga", "banned"), ("rob", "olga", "removed"),
                             ("lea", "lea", "left")):
        removed = await users[user].event("chat-removed")
        assert removed[0] == {"chatId": chat_id, "reason": reason}
        assert removed[1].isdigit()
        left = await olga.event("member-left", lambda a, u=user: a[0]["userId"] == u)
        assert left[0] == {"chatId": chat_id, "userId": user, "by": by, "reason": reason}

    after = await olga.call("send-message", {"chatId": chat_id, "content": "without you"})
    assert after["success"]
    for user, client in users.items():
        await caught_up(client, owner, markers[user])
        assert [e for e, _ in of_chat(client, chat_id)][-1] == "chat-removed"
        refused = await client.call("send-message", {"chatId": chat_id, "content": "hey"})
        assert refused["success"] is False and refused["code"] == "forbidden"

    # ben drops off the network; the chat goes on; he recovers without any of it
    ben = users["ben"]
    await ben.command("drop")
    await ben.wait(lambda i: i["type"] == "disconnect")
    missed = owner("POST", f"/api/chats/{chat_id}/messages", {"content": "while away"}, 201)
    owner("PATCH", f"/api/chats/{chat_id}", {"title": "renamed"}, 200)
    elsewhere = owner("POST", f"/api/chats/{markers['ben']}/messages", {"content": "yours"}, 201)
    seen_before = len(ben.seen)
    await ben.command("reconnect")
    back = await ben.wait(lambda i: i["type"] == "connect" and i.get("recovered") is True)
    assert back["recovered"] is True
    await ben.event("new-message", lambda a: a[0]["id"] == elsewhere["id"])
    replayed = [i for i in ben.seen[seen_before:] if i.get("type") == "event"]
    assert all(chat_id not in str(i["args"]) for i in replayed), replayed
    assert missed["id"] not in str(ben.seen)
    # re-adding a banned user is refused; after the unban he comes back live
    expect = owner("POST", f"/api/chats/{chat_id}/members", {"userId": "ben"}, 403)
    assert expect["code"] == "forbidden"
    owner("DELETE", f"/api/chats/{chat_id}/bans/ben")
    owner("POST", f"/api/chats/{chat_id}/members", {"userId": "ben"}, 200)
    await ben.event("chat-added", lambda a: a[0]["chat"]["id"] == chat_id)
    again = await olga.call("send-message", {"chatId": chat_id, "content": "welcome back"})
    await ben.event("new-message", lambda a: a[0]["id"] == again["messageId"])


async def test_room_events_of_roles_details_and_mutes_carry_the_contracts_payloads(
    server: ServerProcess, py_clients: Callable[[], PyClient],
) -> None:
    tokens = {u: server.token(u) for u in ("olga", "adam", "mo")}
    owner = Rest(server.url, tokens["olga"])
    chat_id = group(owner, "adam", "mo")
    clients = {}
    for user, token in tokens.items():
        clients[user] = py_clients()
        await clients[user].connect(server.url, token)
    mo = clients["mo"]

    owner("PUT", f"/api/chats/{chat_id}/admins/adam")
    expected = {"chatId": chat_id, "admins": ["olga", "adam"], "ownerId": "olga"}
    assert (await mo.event("admins-changed"))[0] == expected
    owner("POST", f"/api/chats/{chat_id}/owner", {"userId": "adam"})
    handed = {"chatId": chat_id, "admins": ["olga", "adam"], "ownerId": "adam"}
    assert (await mo.event("admins-changed", lambda a: a[0]["ownerId"] == "adam"))[0] == handed

    Rest(server.url, tokens["adam"])("PATCH", f"/api/chats/{chat_id}",
                                     {"title": "new title", "description": "what it is"}, 200)
    [updated] = await mo.event("chat-updated")
    assert set(updated) == {"chat"}
    chat = updated["chat"]
    assert (chat["id"], chat["title"], chat["description"]) == (chat_id, "new title",
                                                                 "what it is")
    assert chat["ownerId"] == "adam" and chat["admins"] == ["olga", "adam"]
    assert sorted(chat["memberIds"]) == ["adam", "mo", "olga"]

    until = "2099-01-01T00:00:00.000Z"
    owner("POST", f"/api/chats/{chat_id}/mutes", {"userId": "mo", "until": until})
    muted = {"chatId": chat_id, "userId": "mo", "until": until}
    assert (await clients["olga"].event("member-muted"))[0] == muted
    assert (await mo.event("member-muted"))[0] == muted
    mutes = owner("GET", f"/api/chats/{chat_id}/mutes", status=200)
    assert mutes == [{"userId": "mo", "by": "olga", "until": until}]
    for event, payload in (("send-message", {"chatId": chat_id, "content": "shh"}),
                           ("typing-start", {"chatId": chat_id})):
        ack = await mo.call(event, payload)
        assert ack == {"success": False, "error": "muted", "code": "forbidden"}, (event, ack)
    # without an ack the refusal comes as an `error` event
    await mo.sio.emit("send-message", {"chatId": chat_id, "content": "shh"})
    [error] = await mo.event("error")
    assert error == {"error": "muted", "code": "forbidden"}
    assert (await mo.call("join-chat", {"chatId": chat_id}))["success"]  # reading is fine

    owner("DELETE", f"/api/chats/{chat_id}/mutes/mo")
    unmuted = {"chatId": chat_id, "userId": "mo", "until": None}
    assert (await clients["olga"].event("member-unmuted"))[0] == unmuted
    assert (await mo.call("send-message", {"chatId": chat_id, "content": "ok"}))["success"]


async def test_a_mute_with_an_until_expires_by_itself(
    server: ServerProcess, py_clients: Callable[[], PyClient],
) -> None:
    owner_token, mo_token = server.token("olga"), server.token("mo")
    owner = Rest(server.url, owner_token)
    chat_id = group(owner, "mo")
    mo = py_clients()
    await mo.connect(server.url, mo_token)
    until = datetime.now(UTC) + timedelta(seconds=1.5)
    wire = until.strftime("%Y-%m-%dT%H:%M:%S.") + f"{until.microsecond // 1000:03d}Z"
    owner("POST", f"/api/chats/{chat_id}/mutes", {"userId": "mo", "until": wire})
    refused = await mo.call("send-message", {"chatId": chat_id, "content": "early"})
    assert refused["code"] == "forbidden"
    while datetime.now(UTC) <= until + timedelta(milliseconds=50):
        await asyncio.sleep(0.1)
    assert (await mo.call("send-message", {"chatId": chat_id, "content": "later"}))["success"]
    assert owner("GET", f"/api/chats/{chat_id}/mutes", status=200) == []


async def test_on_another_node_an_added_user_gets_the_chat_and_a_banned_one_loses_it(
    server_factory: Callable[..., ServerProcess], postgres_url: str,
    js_clients: Callable[[str], Awaitable[JsClient]], py_clients: Callable[[], PyClient],
) -> None:
    node1 = server_factory(postgres_url, node_id="node-1")
    node2 = server_factory(postgres_url, node_id="node-2")
    owner_token, ned_token = node1.token("olga"), node1.token("ned")
    node1.token("mia")
    owner = Rest(node1.url, owner_token)
    chat_id = group(owner, "mia")
    marker = group(owner, "ned", title="marker")
    ned = await js_clients(node2.url)
    assert (await ned.connect(auth={"token": ned_token}))["type"] == "connect"
    olga = py_clients()
    await olga.connect(node1.url, owner_token)

    owner("POST", f"/api/chats/{chat_id}/members", {"userId": "ned"}, 200)
    await ned.event("chat-added", lambda a: a[0]["chat"]["id"] == chat_id)
    sent = await olga.call("send-message", {"chatId": chat_id, "content": "across nodes"})
    await ned.event("new-message", lambda a: a[0]["id"] == sent["messageId"])

    owner("POST", f"/api/chats/{chat_id}/bans", {"userId": "ned"})
    removed = await ned.event("chat-removed")
    assert removed[0] == {"chatId": chat_id, "reason": "banned"}
    await olga.call("send-message", {"chatId": chat_id, "content": "after the ban"})
    await caught_up(ned, owner, marker)
    assert [e for e, _ in of_chat(ned, chat_id)][-1] == "chat-removed"
    # he recovers (connection-state recovery on node 2), still without it
    await ned.command("drop")
    await ned.wait(lambda i: i["type"] == "disconnect")
    missed = owner("POST", f"/api/chats/{chat_id}/messages", {"content": "away"}, 201)
    seen_before = len(ned.seen)
    await ned.command("reconnect")
    await ned.wait(lambda i: i["type"] == "connect" and i.get("recovered") is True)
    await caught_up(ned, owner, marker)
    assert chat_id not in str(ned.seen[seen_before:])
    assert missed["id"] not in str(ned.seen)


async def test_a_user_banned_while_away_recovers_what_came_before_the_ban_only(
    server: ServerProcess, js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    owner_token, ben_token = server.token("olga"), server.token("ben")
    owner = Rest(server.url, owner_token)
    chat_id = group(owner, "ben")
    marker = group(owner, "ben", title="marker")
    ben = await js_clients(server.url)
    assert (await ben.connect(auth={"token": ben_token}))["type"] == "connect"
    first = owner("POST", f"/api/chats/{chat_id}/messages", {"content": "live"}, 201)
    [_, offset] = await ben.event("new-message", lambda a: a[0]["id"] == first["id"])

    await ben.command("drop")
    await ben.wait(lambda i: i["type"] == "disconnect")
    before_ban = owner("POST", f"/api/chats/{chat_id}/messages", {"content": "before"}, 201)
    owner("POST", f"/api/chats/{chat_id}/bans", {"userId": "ben"})
    after_ban = owner("POST", f"/api/chats/{chat_id}/messages", {"content": "after"}, 201)
    owner("PATCH", f"/api/chats/{chat_id}", {"title": "secret plans"}, 200)
    seen_before = len(ben.seen)
    await ben.command("reconnect")
    back = await ben.wait(lambda i: i["type"] == "connect" and i.get("recovered") is True)
    assert back["recovered"] is True
    await caught_up(ben, owner, marker)
    replayed = [(e, p) for e, p in of_chat(ben, chat_id)][-2:]
    assert [e for e, _ in replayed] == ["new-message", "chat-removed"]
    assert replayed[0][1]["id"] == before_ban["id"]
    assert replayed[1][1] == {"chatId": chat_id, "reason": "banned"}
    assert after_ban["id"] not in str(ben.seen[seen_before:])
    assert "secret plans" not in str(ben.seen[seen_before:])

    # /api/events, the sync of any client, tells the same story
    events = Rest(server.url, ben_token)("GET", f"/api/events?after={offset}", status=200)
    mine = [(e["type"], e["data"].get("id")) for e in events if e["chatId"] == chat_id]
    assert mine == [("new-message", before_ban["id"]), ("chat-removed", None)]
