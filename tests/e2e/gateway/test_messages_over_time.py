"""Messages over time (issue 16) with stock clients against a real `eschat serve`, on
SQLite and on PostgreSQL: socket.io-client (node, with recovery offsets) for alice,
python-socketio for bob. Each change reaches the other member live with the
contract's payload; REST history, the thread page, pins and the edit history agree;
a client that was away recovers the changes in order; a deleted message's content is
in no read model, REST answer, recovery replay or `/api/events` page; bad input
through Socket.IO gets a clear error and stores nothing."""

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from infrastructure.database_url import SqliteLocation, parse_database_url
from tests.conftest import ServerProcess
from tests.e2e.clients import JsClient, PyClient
from tests.e2e.conftest import create_chat

Json = dict[str, Any]


def rest(server: ServerProcess, token: str, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, server.url + path, timeout=10,
                             headers={"Authorization": f"Bearer {token}"}, **kwargs)
    assert response.status_code < 300, (method, path, response.status_code, response.text)
    return response.json() if response.content else None


def head(server: ServerProcess) -> int:
    """The store's head position (`/ready`)."""
    ready = httpx.get(server.url + "/ready", timeout=10).json()
    return int(ready["head"])


def read_model_rows(database_url: str) -> str:
    """Every row of every read-model table (not the event store), as text."""
    location = parse_database_url(database_url)
    rows: list[object] = []
    if isinstance(location, SqliteLocation):
        with sqlite3.connect(location.readmodels_path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master"
                                               " WHERE type = 'table'")]
            for table in tables:
                rows += [(table, *r) for r in db.execute(f'SELECT * FROM "{table}"')]
    else:
        with psycopg.connect(database_url) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename NOT LIKE 'eschat_%'")]
            for table in tables:
                rows += [(table, *r) for r in conn.execute(f'SELECT * FROM "{table}"')]
    assert len(tables) > 10  # the read models, really
    return repr(rows)


async def connect_pair(server: ServerProcess, js_clients: Callable[[str], Awaitable[JsClient]],
                       py_clients: Callable[[], PyClient]) -> tuple[str, JsClient, PyClient]:
    """alice's group with bob; alice on socket.io-client over WebSocket, bob on
    python-socketio."""
    alice_token, bob_token = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")
    alice = await js_clients(server.url)
    await alice.connect(auth={"token": "Bearer " + alice_token}, transports=["websocket"])
    await alice.event("connected")
    bob = py_clients()
    await bob.connect(server.url, bob_token)
    await bob.event("connected")
    return chat_id, alice, bob


async def seen_by_both(alice: JsClient, bob: PyClient, event: str, seq: int) -> Json:
    """The room event stored at `seq`, as both members got it: the same payload, and
    alice's copy with its recovery offset."""
    def at(args: list[Any]) -> bool:
        return bool(args[0].get("seq") == seq)

    [payload] = await bob.event(event, at)
    assert await alice.event(event, at) == [payload, str(seq)]
    return payload  # type: ignore[no-any-return]


async def test_send_edit_react_reply_thread_pin_delete_seen_live_and_over_rest(
    server: ServerProcess,
    js_clients: Callable[[str], Awaitable[JsClient]],
    py_clients: Callable[[], PyClient],
) -> None:
    chat, alice, bob = await connect_pair(server, js_clients, py_clients)
    alice_token, bob_token = server.token("alice"), server.token("bob")

    # send, edit twice
    sent = await alice.call("send-message", {"chatId": chat, "content": "v1",
                                             "clientMessageId": "a-1"})
    mid = sent["messageId"]
    [fresh] = await bob.event("new-message", lambda a: a[0]["id"] == mid)
    assert (fresh["content"], fresh["editedAt"], fresh["mentions"]) == ("v1", None, [])
    edited = []
    for content in ("v2", "v3 @bob"):
        ack = await alice.call("edit-message", {"chatId": chat, "messageId": mid,
                                                "content": content})
        assert ack == {"success": True, "seq": ack["seq"]}
        payload = await seen_by_both(alice, bob, "message-edited", ack["seq"])
        assert payload == {"chatId": chat, "messageId": mid, "content": content,
                           "editedAt": payload["editedAt"], "seq": ack["seq"]}
        assert payload["editedAt"] >= sent["createdAt"]
        edited.append(payload)
    assert sent["seq"] < edited[0]["seq"] < edited[1]["seq"]
    same = await alice.call("edit-message", {"chatId": chat, "messageId": mid,
                                             "content": "v3 @bob"})
    assert same == {"success": True, "seq": None}  # the content it has: nothing stored

    # react, un-react (bob's reactions reach alice, alice's reach bob)
    reacted = []
    for who, event, emoji in ((bob, "add-reaction", "👍"), (alice, "add-reaction", "🎉"),
                              (bob, "remove-reaction", "👍")):
        ack = await who.call(event, {"chatId": chat, "messageId": mid, "emoji": emoji})
        assert ack["success"] is True and ack["seq"] > 0
        name = "reaction-added" if event == "add-reaction" else "reaction-removed"
        payload = await seen_by_both(alice, bob, name, ack["seq"])
        assert payload == {"chatId": chat, "messageId": mid, "emoji": emoji, "seq": ack["seq"],
                           "userId": "bob" if who is bob else "alice"}
        reacted.append(payload)
    again = await alice.call("add-reaction", {"chatId": chat, "messageId": mid, "emoji": "🎉"})
    assert again == {"success": True, "seq": None}  # once per emoji per user

    # a quoted reply and a thread of 3 replies
    quote_ack = await bob.call("send-message", {"chatId": chat, "content": "quoting",
                                                "replyTo": mid})
    quoted, offset = await alice.event("new-message",
                                       lambda a: a[0]["id"] == quote_ack["messageId"])
    assert offset == str(quote_ack["seq"])
    assert (quoted["replyTo"], quoted["threadId"]) == (mid, None)
    replies = []
    for i, who in enumerate((bob, alice, bob)):
        ack = await who.call("send-message", {"chatId": chat, "content": f"in thread {i}",
                                              "threadId": mid})
        assert ack["success"] is True
        other = alice if who is bob else bob
        reply = (await other.event("new-message",
                                   lambda a, m=ack["messageId"]: a[0]["id"] == m))[0]
        assert (reply["threadId"], reply["replyTo"], reply["content"], reply["seq"]) == (
            mid, None, f"in thread {i}", ack["seq"])
        replies.append(reply)

    # pin (an admin: alice created the chat), pin and unpin another, delete bob's quote
    pins = []
    for event, target in (("pin-message", mid), ("pin-message", quoted["id"]),
                          ("unpin-message", quoted["id"])):
        ack = await alice.call(event, {"chatId": chat, "messageId": target})
        name = "message-pinned" if event == "pin-message" else "message-unpinned"
        payload = await seen_by_both(alice, bob, name, ack["seq"])
        assert payload == {"chatId": chat, "messageId": target, "by": "alice", "seq": ack["seq"]}
        pins.append(payload)
    ack = await alice.call("delete-message", {"chatId": chat, "messageId": quoted["id"]})
    deleted = await seen_by_both(alice, bob, "message-deleted", ack["seq"])
    assert deleted == {"chatId": chat, "messageId": quoted["id"], "deletedBy": "alice",
                       "at": deleted["at"], "seq": ack["seq"]}
    again = await bob.call("delete-message", {"chatId": chat, "messageId": quoted["id"]})
    assert again == {"success": True, "seq": None}
    # Every change reached bob once, none of the no-ops did (the feed is in store order:
    # the delete came last).
    counts = {name: len(bob.events(name)) for name in (
        "message-edited", "reaction-added", "reaction-removed", "message-pinned",
        "message-unpinned", "message-deleted", "new-message")}
    assert counts == {"message-edited": 2, "reaction-added": 2, "reaction-removed": 1,
                      "message-pinned": 2, "message-unpinned": 1, "message-deleted": 1,
                      "new-message": 5}

    # REST: the main timeline holds the root and the (deleted) quote, not the thread.
    page = rest(server, bob_token, "GET", f"/api/chats/{chat}/messages")
    assert page["nextBefore"] is None
    root, gone = page["messages"]
    assert root == {
        "id": mid, "chatId": chat, "senderId": "alice", "content": "v3 @bob",
        "seq": sent["seq"], "createdAt": sent["createdAt"], "clientMessageId": "a-1",
        "deliveredTo": [], "readBy": [], "editedAt": edited[1]["editedAt"], "deleted": False,
        "erased": False, "replyTo": None, "threadId": None, "threadReplyCount": 3,
        "threadLastReplyAt": replies[-1]["createdAt"], "reactions": {"🎉": ["alice"]},
        "mentions": ["bob"], "pinned": True,
    }
    assert gone == {**{k: v for k, v in quoted.items() if k != "deliveryStatus"},
                    "content": None, "deleted": True, "deliveredTo": [], "readBy": []}

    # The thread page: the replies, oldest first, paged like history.
    thread = rest(server, alice_token, "GET", f"/api/chats/{chat}/messages",
                  params={"threadId": mid})
    assert thread["nextBefore"] is None
    assert [m["id"] for m in thread["messages"]] == [r["id"] for r in replies]
    assert all(m["threadId"] == mid for m in thread["messages"])
    last_two = rest(server, alice_token, "GET", f"/api/chats/{chat}/messages",
                    params={"threadId": mid, "limit": 2})
    assert [m["id"] for m in last_two["messages"]] == [r["id"] for r in replies[1:]]
    assert last_two["nextBefore"] == replies[1]["seq"]

    # Pins, latest pin first: the unpinned quote is not among them.
    assert [m["id"] for m in rest(server, bob_token, "GET", f"/api/chats/{chat}/pins")] == [mid]

    # The edit history: every version with its time and position, the original first.
    versions = rest(server, bob_token, "GET", f"/api/chats/{chat}/messages/{mid}/edits")
    assert versions == [
        {"content": "v1", "editedAt": sent["createdAt"], "seq": sent["seq"]},
        {"content": "v2", "editedAt": edited[0]["editedAt"], "seq": edited[0]["seq"]},
        {"content": "v3 @bob", "editedAt": edited[1]["editedAt"], "seq": edited[1]["seq"]},
    ]
    assert rest(server, bob_token, "GET", f"/api/chats/{chat}/messages/{quoted['id']}/edits"
                ) == [{"content": None, "editedAt": quoted["createdAt"], "seq": quoted["seq"]}]

    # The chat list follows the main timeline; bob is mentioned once, unread.
    [entry] = rest(server, bob_token, "GET", "/api/chats")
    assert entry["lastMessage"]["id"] == quoted["id"]
    assert entry["lastMessage"]["content"] is None
    assert entry["unreadMentions"] == 1

    # /api/events holds each change as the room got it.
    feed = rest(server, bob_token, "GET", "/api/events", params={"after": 0, "limit": 1000})
    changes = [(e["type"], e["data"]) for e in feed if e["chatId"] == chat
               and e["type"] not in ("new-message", "chat-added", "member-joined")]
    assert changes == [
        *(("message-edited", p) for p in edited),
        ("reaction-added", reacted[0]), ("reaction-added", reacted[1]),
        ("reaction-removed", reacted[2]),
        ("message-pinned", pins[0]), ("message-pinned", pins[1]), ("message-unpinned", pins[2]),
        ("message-deleted", deleted),
    ]


async def test_a_client_away_recovers_the_edit_the_reaction_and_the_delete_in_order(
    server: ServerProcess,
    js_clients: Callable[[str], Awaitable[JsClient]],
    py_clients: Callable[[], PyClient],
) -> None:
    chat, alice, bob = await connect_pair(server, js_clients, py_clients)
    sent = await bob.call("send-message", {"chatId": chat, "content": "SECRET-1 @alice"})
    mid = sent["messageId"]
    await alice.event("new-message", lambda a: a[0]["id"] == mid)

    await alice.command("drop")
    await alice.wait(lambda i: i["type"] == "disconnect")
    dropped = len(alice.seen)
    acks = [
        await bob.call("edit-message", {"chatId": chat, "messageId": mid,
                                        "content": "SECRET-2"}),
        await bob.call("add-reaction", {"chatId": chat, "messageId": mid, "emoji": "👀"}),
        await bob.call("delete-message", {"chatId": chat, "messageId": mid}),
    ]
    assert all(a["success"] for a in acks)
    await bob.event("message-deleted")
    await alice.command("reconnect")
    back = await alice.wait(lambda i: i["type"] == "connect"
                            and any(i is j for j in alice.seen[dropped:]))
    assert back["recovered"] is True
    await alice.event("message-deleted")
    replayed = [(i["event"], i["args"]) for i in alice.seen[dropped:] if i["type"] == "event"
                and i["event"] not in ("connected", "user-online", "user-offline")]
    seqs = [a["seq"] for a in acks]
    assert replayed == [
        # The edit's content is not replayed: the message was deleted since.
        ("message-edited", [{"chatId": chat, "messageId": mid, "content": None,
                             "editedAt": replayed[0][1][0]["editedAt"], "seq": seqs[0]},
                            str(seqs[0])]),
        ("reaction-added", [{"chatId": chat, "messageId": mid, "userId": "bob", "emoji": "👀",
                             "seq": seqs[1]}, str(seqs[1])]),
        ("message-deleted", [{"chatId": chat, "messageId": mid, "deletedBy": "bob",
                              "at": replayed[2][1][0]["at"], "seq": seqs[2]}, str(seqs[2])]),
    ]
    # Live again after the replay.
    later = await bob.call("send-message", {"chatId": chat, "content": "after"})
    await alice.event("new-message", lambda a: a[0]["id"] == later["messageId"])


async def test_a_deleted_messages_content_is_in_no_read_model_rest_answer_replay_or_feed(
    server: ServerProcess,
    js_clients: Callable[[str], Awaitable[JsClient]],
    py_clients: Callable[[], PyClient],
) -> None:
    chat, alice, bob = await connect_pair(server, js_clients, py_clients)
    alice_token, bob_token = server.token("alice"), server.token("bob")
    # alice is away from the first message on: what follows reaches her by recovery.
    hello = await bob.call("send-message", {"chatId": chat, "content": "hello"})
    await alice.event("new-message", lambda a: a[0]["id"] == hello["messageId"])
    await alice.command("drop")
    await alice.wait(lambda i: i["type"] == "disconnect")
    dropped = len(alice.seen)

    root = await bob.call("send-message", {"chatId": chat, "content": "SECRET-root @alice"})
    rid = root["messageId"]
    reply = await bob.call("send-message", {"chatId": chat, "content": "SECRET-reply",
                                            "threadId": rid})
    quote_ack = await bob.call("send-message", {"chatId": chat, "content": "SECRET-quote",
                                                "replyTo": rid})
    await bob.call("edit-message", {"chatId": chat, "messageId": rid, "content": "SECRET-v2"})
    await bob.call("add-reaction", {"chatId": chat, "messageId": rid, "emoji": "👀"})
    rest(server, alice_token, "POST", f"/api/chats/{chat}/pins/{rid}")
    for message_id in (rid, reply["messageId"], quote_ack["messageId"]):
        ack = await bob.call("delete-message", {"chatId": chat, "messageId": message_id})
        assert ack["success"] is True and ack["seq"] > 0
    kept = await bob.call("send-message", {"chatId": chat, "content": "kept"})
    await bob.event("new-message", lambda a: a[0]["id"] == kept["messageId"])
    await alice.command("reconnect")
    await alice.wait(lambda i: i["type"] == "connect" and i.get("recovered") is True)
    await alice.event("new-message", lambda a: a[0]["id"] == kept["messageId"])

    answers: list[object] = [alice.seen[dropped:]]  # the recovery replay
    for token in (alice_token, bob_token):
        answers += [
            rest(server, token, "GET", f"/api/chats/{chat}/messages"),
            rest(server, token, "GET", f"/api/chats/{chat}/messages", params={"threadId": rid}),
            rest(server, token, "GET", f"/api/chats/{chat}/pins"),
            rest(server, token, "GET", "/api/chats"),
            rest(server, token, "GET", f"/api/chats/{chat}"),
            *(rest(server, token, "GET", f"/api/chats/{chat}/messages/{m}/edits")
              for m in (rid, reply["messageId"], quote_ack["messageId"])),
        ]
        after, pages = 0, 0
        while page := rest(server, token, "GET", "/api/events",
                           params={"after": after, "limit": 3}):
            answers.append(page)
            after, pages = page[-1]["position"], pages + 1
        assert pages > 3
    joined = await bob.call("join-chat", {"chatId": chat})
    answers.append(joined)
    text = repr(answers)
    assert "SECRET" not in text
    assert "kept" in text and rid in text  # the answers hold the messages, without content
    assert "SECRET" not in read_model_rows(server.env["ESCHAT_DATABASE_URL"])
    assert [m["id"] for m in joined["messages"]] == [hello["messageId"], rid,
                                                     quote_ack["messageId"], kept["messageId"]]
    assert [m["deleted"] for m in joined["messages"]] == [False, True, True, False]


CHAT, OTHER, MESSAGE, OTHER_MESSAGE, REPLY, DELETED = (
    "{chat}", "{other}", "{message}", "{other_message}", "{reply}", "{deleted}")
UNKNOWN = str(uuid4())

# (name, who, event, payload, code, text in the error)
BAD: list[tuple[str, str, str, Json, str, str]] = [
    ("edit another's message", "bob", "edit-message",
     {"chatId": CHAT, "messageId": MESSAGE, "content": "mine"}, "forbidden", "only the sender"),
    ("edit a deleted message", "alice", "edit-message",
     {"chatId": CHAT, "messageId": DELETED, "content": "back"}, "conflict", "deleted"),
    ("edit with empty content", "alice", "edit-message",
     {"chatId": CHAT, "messageId": MESSAGE, "content": " "}, "invalid", "content"),
    ("edit with content of wrong type", "alice", "edit-message",
     {"chatId": CHAT, "messageId": MESSAGE, "content": 5}, "invalid", "content"),
    ("edit without message", "alice", "edit-message", {"chatId": CHAT, "content": "x"},
     "invalid", "messageId"),
    ("edit a message of another chat", "alice", "edit-message",
     {"chatId": CHAT, "messageId": OTHER_MESSAGE, "content": "x"}, "not_found", "message"),
    ("edit by a non-member", "mallory", "edit-message",
     {"chatId": CHAT, "messageId": MESSAGE, "content": "x"}, "forbidden", "not a member"),
    ("delete another's message as a member", "bob", "delete-message",
     {"chatId": CHAT, "messageId": MESSAGE}, "forbidden", "sender or an admin"),
    ("delete an unknown message", "alice", "delete-message",
     {"chatId": CHAT, "messageId": UNKNOWN}, "not_found", "message"),
    ("delete by a non-member", "mallory", "delete-message",
     {"chatId": CHAT, "messageId": MESSAGE}, "forbidden", "not a member"),
    ("react with an emoji of 200 characters", "bob", "add-reaction",
     {"chatId": CHAT, "messageId": MESSAGE, "emoji": "😀" * 200}, "invalid", "emoji"),
    ("react with an empty emoji", "bob", "add-reaction",
     {"chatId": CHAT, "messageId": MESSAGE, "emoji": ""}, "invalid", "emoji"),
    ("un-react with an emoji of 200 characters", "bob", "remove-reaction",
     {"chatId": CHAT, "messageId": MESSAGE, "emoji": "x" * 200}, "invalid", "emoji"),
    ("react to a deleted message", "bob", "add-reaction",
     {"chatId": CHAT, "messageId": DELETED, "emoji": "👍"}, "conflict", "deleted"),
    ("react by a non-member", "mallory", "add-reaction",
     {"chatId": CHAT, "messageId": MESSAGE, "emoji": "👍"}, "forbidden", "not a member"),
    ("un-react by a non-member", "mallory", "remove-reaction",
     {"chatId": CHAT, "messageId": MESSAGE, "emoji": "👍"}, "forbidden", "not a member"),
    ("pin by a member", "bob", "pin-message", {"chatId": CHAT, "messageId": MESSAGE},
     "forbidden", "only admins"),
    ("pin a deleted message", "alice", "pin-message", {"chatId": CHAT, "messageId": DELETED},
     "conflict", "deleted"),
    ("pin by a non-member", "mallory", "pin-message", {"chatId": CHAT, "messageId": MESSAGE},
     "forbidden", "not a member"),
    ("unpin by a member", "bob", "unpin-message", {"chatId": CHAT, "messageId": MESSAGE},
     "forbidden", "only admins"),
    ("reply to a message of another chat", "bob", "send-message",
     {"chatId": CHAT, "content": "x", "replyTo": OTHER_MESSAGE}, "invalid", "replyTo"),
    ("reply to a malformed id", "bob", "send-message",
     {"chatId": CHAT, "content": "x", "replyTo": 12}, "invalid", "replyTo"),
    ("thread under a thread reply", "bob", "send-message",
     {"chatId": CHAT, "content": "x", "threadId": REPLY}, "invalid", "threadId"),
    ("thread under a message of another chat", "bob", "send-message",
     {"chatId": CHAT, "content": "x", "threadId": OTHER_MESSAGE}, "invalid", "threadId"),
    ("thread reply by a non-member", "mallory", "send-message",
     {"chatId": CHAT, "content": "x", "threadId": MESSAGE}, "forbidden", "not a member"),
]


@pytest.fixture
def sqlite_server(server_factory: Callable[..., ServerProcess], sqlite_url: str
                  ) -> ServerProcess:
    return server_factory(sqlite_url)


async def test_bad_input_over_socketio_gets_a_clear_error_and_stores_nothing(
    sqlite_server: ServerProcess, py_clients: Callable[[], PyClient]
) -> None:
    server = sqlite_server
    tokens = {u: server.token(u) for u in ("alice", "bob", "mallory")}
    chat = create_chat(server.url, tokens["alice"], "bob")
    other = create_chat(server.url, tokens["alice"], "bob")
    clients = {}
    for user, token in tokens.items():
        clients[user] = py_clients()
        await clients[user].connect(server.url, token)
        await clients[user].event("connected")
    alice, bob = clients["alice"], clients["bob"]
    message = await alice.call("send-message", {"chatId": chat, "content": "hi"})
    elsewhere = await alice.call("send-message", {"chatId": other, "content": "there"})
    reply = await bob.call("send-message", {"chatId": chat, "content": "r",
                                            "threadId": message["messageId"]})
    deleted = await alice.call("send-message", {"chatId": chat, "content": "gone"})
    assert (await alice.call("delete-message", {"chatId": chat,
                                                "messageId": deleted["messageId"]}))["success"]
    await bob.event("message-deleted")
    ids = {CHAT: chat, OTHER: other, MESSAGE: message["messageId"],
           OTHER_MESSAGE: elsewhere["messageId"], REPLY: reply["messageId"],
           DELETED: deleted["messageId"]}
    before = head(server)
    seen = len(bob.seen)

    for name, who, event, payload, code, text in BAD:
        filled = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
        ack = await clients[who].call(event, filled)
        assert ack["success"] is False, (name, ack)
        assert (ack["code"], text in ack["error"]) == (code, True), (name, ack)

    assert head(server) == before  # nothing stored
    assert (await alice.call("ping"))["success"] is True  # still connected, still useful
    good = await alice.call("edit-message", {"chatId": chat, "messageId": message["messageId"],
                                             "content": "fine"})
    assert good["seq"] == before + 1
    await bob.event("message-edited")
    # bob saw nothing between the delete and the good edit (presence aside: it is
    # coalesced and may come late, README "Presence fan-out").
    assert [i["event"] for i in bob.seen[seen:] if i["type"] == "event"
            and i["event"] not in ("user-online", "user-offline")] == ["message-edited"]
    versions = rest(server, tokens["bob"], "GET",
                    f"/api/chats/{chat}/messages/{message['messageId']}/edits")
    assert [v["content"] for v in versions] == ["hi", "fine"]
    thumbs = rest(server, tokens["bob"], "GET", f"/api/chats/{chat}/messages")
    assert all(m["reactions"] == {} and not m["pinned"] for m in thumbs["messages"])


async def test_changes_made_while_the_server_restarted_are_recovered_in_order(
    server_factory: Callable[..., ServerProcess],
    database_url: str,
    js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    first = server_factory(database_url)
    alice_token, bob_token = first.token("alice"), first.token("bob")
    chat = create_chat(first.url, alice_token, "bob")
    alice = await js_clients(first.url)
    await alice.connect(auth={"token": alice_token})  # default transports: polling, upgrade
    message = rest(first, bob_token, "POST", f"/api/chats/{chat}/messages", json={
        "content": "before"})
    await alice.event("new-message", lambda a: a[0]["id"] == message["id"])

    assert first.stop() == 0
    await alice.wait(lambda i: i["type"] == "disconnect")
    seen = len(alice.seen)
    second = server_factory(database_url, port=first.port, data_dir=first.log_path.parent)
    base = f"/api/chats/{chat}/messages/{message['id']}"
    rest(second, bob_token, "PATCH", base, json={"content": "after"})
    rest(second, bob_token, "PUT", f"{base}/reactions/ok")
    rest(second, alice_token, "POST", f"/api/chats/{chat}/pins/{message['id']}")

    # The stock client reconnects by itself and recovers the changes from the store.
    await alice.wait(lambda i: i["type"] == "connect" and i.get("recovered") is True
                     and any(i is j for j in alice.seen[seen:]), timeout=20)
    await alice.event("message-pinned")
    changes = [(i["event"], i["args"][0]) for i in alice.seen[seen:] if i["type"] == "event"
               and i["event"] in ("message-edited", "reaction-added", "message-pinned")]
    assert [(name, p["messageId"]) for name, p in changes] == [
        ("message-edited", message["id"]), ("reaction-added", message["id"]),
        ("message-pinned", message["id"])]
    assert changes[0][1]["content"] == "after" and changes[1][1]["emoji"] == "ok"
    offsets = [i["args"][-1] for i in alice.seen[seen:] if i["type"] == "event"
               and i["event"] in ("message-edited", "reaction-added", "message-pinned")]
    assert offsets == [str(p["seq"]) for _, p in changes] and offsets == sorted(offsets, key=int)
