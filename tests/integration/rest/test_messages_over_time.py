"""Messages over time over REST, against a real `eschat serve` on each backend: edit,
delete, the audit trail, reactions, threads, pins and mentions, with the contract's
shapes, status codes and errors."""

import uuid
from urllib.parse import quote

from tests.conftest import ServerProcess
from tests.integration.rest.helpers import (
    Api,
    User,
    expect_error,
    new_chat,
    send,
    stored_events,
)

UNKNOWN = str(uuid.uuid4())


def chat_of(user: User, chat_id: str) -> dict[str, object]:
    [entry] = [c for c in user.http.get("/api/chats").json() if c["id"] == chat_id]
    return entry  # type: ignore[no-any-return]


def test_edit_twice_react_unreact_and_the_audit_trail(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    chat = new_chat(alice, bob)["id"]
    m = send(alice, chat, "first")
    assert (m["editedAt"], m["deleted"], m["reactions"], m["pinned"]) == (None, False, {}, False)
    r1 = alice.http.patch(f"/api/chats/{chat}/messages/{m['id']}", json={"content": "second"})
    assert r1.status_code == 200, r1.text
    assert (r1.json()["content"], r1.json()["seq"]) == ("second", m["seq"])
    r2 = alice.http.patch(f"/api/chats/{chat}/messages/{m['id']}",
                          json={"content": f"third @{bob.id}"})
    assert r2.json()["mentions"] == [bob.id] and r2.json()["editedAt"] >= m["createdAt"]
    thumbs = f"/api/chats/{chat}/messages/{m['id']}/reactions/{quote('👍')}"
    assert bob.http.put(thumbs).status_code == 204
    assert bob.http.put(thumbs).status_code == 204  # again: no change
    assert alice.http.put(f"/api/chats/{chat}/messages/{m['id']}/reactions/ok").status_code == 204
    [seen] = bob.http.get(f"/api/chats/{chat}/messages").json()["messages"]
    assert seen["reactions"] == {"👍": [bob.id], "ok": [alice.id]}
    assert bob.http.delete(thumbs).status_code == 204
    [seen] = bob.http.get(f"/api/chats/{chat}/messages").json()["messages"]
    assert (seen["content"], seen["reactions"]) == (f"third @{bob.id}", {"ok": [alice.id]})
    edits = bob.http.get(f"/api/chats/{chat}/messages/{m['id']}/edits")
    assert edits.status_code == 200
    versions = edits.json()
    assert [v["content"] for v in versions] == ["first", "second", f"third @{bob.id}"]
    assert versions[0] == {"content": "first", "editedAt": m["createdAt"], "seq": m["seq"]}
    assert versions[1]["seq"] < versions[2]["seq"] and versions[1]["seq"] > m["seq"]
    assert chat_of(bob, chat)["unreadMentions"] == 1


def test_reply_thread_pin_delete_and_the_chat_list(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    chat = new_chat(alice, bob)["id"]
    root = send(alice, chat, "root")
    quoted = bob.http.post(f"/api/chats/{chat}/messages",
                           json={"content": "quoting", "replyTo": root["id"]}).json()
    assert quoted["replyTo"] == root["id"] and quoted["threadId"] is None
    replies = [bob.http.post(f"/api/chats/{chat}/messages",
                             json={"content": f"t{i}", "threadId": root["id"]}).json()
               for i in range(3)]
    assert all(r["threadId"] == root["id"] for r in replies)
    main = bob.http.get(f"/api/chats/{chat}/messages").json()
    assert [m["id"] for m in main["messages"]] == [root["id"], quoted["id"]]
    assert main["messages"][0]["threadReplyCount"] == 3
    assert main["messages"][0]["threadLastReplyAt"] == replies[-1]["createdAt"]
    page = bob.http.get(f"/api/chats/{chat}/messages",
                        params={"threadId": root["id"], "limit": 2}).json()
    assert [m["id"] for m in page["messages"]] == [r["id"] for r in replies[1:]]
    assert page["nextBefore"] == replies[1]["seq"]
    rest = bob.http.get(f"/api/chats/{chat}/messages",
                        params={"threadId": root["id"], "before": page["nextBefore"]}).json()
    assert rest == {"messages": [bob.http.get(f"/api/chats/{chat}/messages", params={
        "threadId": root["id"]}).json()["messages"][0]], "nextBefore": None}
    # lastMessage and unread follow the main timeline.
    entry = chat_of(alice, chat)
    assert entry["lastMessage"]["id"] == quoted["id"] and entry["unreadCount"] == 1  # type: ignore[index]

    assert alice.http.post(f"/api/chats/{chat}/pins/{quoted['id']}").status_code == 204
    assert alice.http.post(f"/api/chats/{chat}/pins/{root['id']}").status_code == 204
    pins = bob.http.get(f"/api/chats/{chat}/pins").json()
    assert [p["id"] for p in pins] == [root["id"], quoted["id"]] and pins[0]["pinned"]
    assert alice.http.delete(f"/api/chats/{chat}/pins/{quoted['id']}").status_code == 204
    assert [p["id"] for p in bob.http.get(f"/api/chats/{chat}/pins").json()] == [root["id"]]

    # An admin deletes another's message: it keeps its place, without its content.
    assert alice.http.delete(f"/api/chats/{chat}/messages/{quoted['id']}").status_code == 204
    main = bob.http.get(f"/api/chats/{chat}/messages").json()["messages"]
    gone = main[1]
    assert (gone["id"], gone["seq"], gone["senderId"], gone["content"], gone["deleted"]) == (
        quoted["id"], quoted["seq"], bob.id, None, True)
    assert chat_of(alice, chat)["lastMessage"]["content"] is None  # type: ignore[index]
    edits = bob.http.get(f"/api/chats/{chat}/messages/{quoted['id']}/edits").json()
    assert edits == [{"content": None, "editedAt": quoted["createdAt"], "seq": quoted["seq"]}]
    events = bob.http.get("/api/events", params={"after": 0, "limit": 1000}).json()
    mine = [e for e in events if e["chatId"] == chat]
    assert "quoting" not in repr(mine)
    types = [e["type"] for e in mine]
    for name in ("message-pinned", "message-unpinned", "message-deleted"):
        assert name in types


def test_bad_input_over_rest(api: Api, live_server: ServerProcess) -> None:
    alice, bob, mallory = api.user("alice"), api.user("bob"), api.user("mallory")
    chat = new_chat(alice, bob)["id"]
    other = new_chat(alice, bob)["id"]
    m = send(alice, chat, "hi")
    elsewhere = send(alice, other, "there")
    reply = bob.http.post(f"/api/chats/{chat}/messages",
                          json={"content": "r", "threadId": m["id"]}).json()
    url = f"/api/chats/{chat}/messages/{m['id']}"
    before = stored_events(live_server)
    expect_error(bob.http.patch(url, json={"content": "mine"}), 403, "forbidden")
    expect_error(mallory.http.patch(url, json={"content": "x"}), 403, "forbidden")
    expect_error(alice.http.patch(url, json={"content": ""}), 400, "invalid", "content")
    expect_error(alice.http.patch(url, json={}), 400, "invalid", "content")
    expect_error(alice.http.patch(f"/api/chats/{chat}/messages/{UNKNOWN}", json={"content": "x"}),
                 404, "not_found")
    expect_error(bob.http.delete(url), 403, "forbidden")
    expect_error(bob.http.put(f"{url}/reactions/{'x' * 200}"), 400, "invalid", "emoji")
    expect_error(mallory.http.put(f"{url}/reactions/ok"), 403, "forbidden")
    expect_error(mallory.http.delete(f"{url}/reactions/ok"), 403, "forbidden")
    expect_error(bob.http.delete(f"{url}/reactions/{'x' * 65}"), 400, "invalid", "emoji")
    expect_error(bob.http.delete(f"/api/chats/{chat}/pins/{m['id']}"), 403, "forbidden")
    expect_error(mallory.http.delete(url), 403, "forbidden")
    expect_error(alice.http.post(f"/api/chats/{chat}/pins/{UNKNOWN}"), 404, "not_found")
    expect_error(bob.http.post(f"/api/chats/{chat}/pins/{m['id']}"), 403, "forbidden")
    expect_error(mallory.http.get(f"/api/chats/{chat}/pins"), 403, "forbidden")
    expect_error(mallory.http.get(f"{url}/edits"), 403, "forbidden")
    expect_error(bob.http.get(f"/api/chats/{chat}/messages/{elsewhere['id']}/edits"), 404,
                 "not_found")
    expect_error(bob.http.post(f"/api/chats/{chat}/messages",
                               json={"content": "x", "replyTo": elsewhere["id"]}),
                 400, "invalid", "replyTo")
    expect_error(bob.http.post(f"/api/chats/{chat}/messages",
                               json={"content": "x", "threadId": reply["id"]}),
                 400, "invalid", "threadId")
    expect_error(bob.http.post(f"/api/chats/{chat}/messages",
                               json={"content": "x", "threadId": "nope"}),
                 400, "invalid", "threadId")
    expect_error(bob.http.get(f"/api/chats/{chat}/messages", params={"threadId": "nope"}),
                 400, "invalid")
    assert stored_events(live_server) == before  # none of it stored anything
    assert alice.http.delete(url).status_code == 204
    deleted = stored_events(live_server)
    assert deleted == before + 1
    assert alice.http.delete(url).status_code == 204  # again: nothing more to delete
    expect_error(alice.http.patch(url, json={"content": "back"}), 409, "conflict")
    expect_error(bob.http.put(f"{url}/reactions/ok"), 409, "conflict")
    expect_error(alice.http.post(f"/api/chats/{chat}/pins/{m['id']}"), 409, "conflict")
    assert stored_events(live_server) == deleted
