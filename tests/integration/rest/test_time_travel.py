"""Time travel over REST (`?asOf=<position>`, CONTRACT "Privacy and erasure"), against
a real `eschat serve` on each backend: positions before and after an edit, a delete, a
reaction, a pin, an add and a removal each answer exactly as the chat stood; a member
who was away sees nothing of their time away; bad positions get a clear 400."""

import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.rest.helpers import Api, User, expect_error, new_chat, send


def head(api: Api) -> int:
    return int(api.http.get("/ready").json()["head"])


def then(user: User, chat_id: str, as_of: int, **params: Any) -> list[dict[str, Any]]:
    response = user.http.get(f"/api/chats/{chat_id}/messages",
                             params={"asOf": as_of, **params})
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def chat_then(user: User, chat_id: str, as_of: int) -> dict[str, Any]:
    response = user.http.get(f"/api/chats/{chat_id}", params={"asOf": as_of})
    assert response.status_code == 200, response.text
    chat: dict[str, Any] = response.json()
    return chat


def ok(response: Any, status: int = 204) -> None:
    assert response.status_code == status, response.text


def test_each_position_answers_as_the_chat_stood(api: Api) -> None:
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    chat = new_chat(alice, bob)["id"]
    created = head(api)
    m1 = send(alice, chat, "original")
    sent = head(api)
    ok(alice.http.post(f"/api/chats/{chat}/members", json={"userId": carol.id}), 200)
    added = head(api)
    ok(alice.http.patch(f"/api/chats/{chat}/messages/{m1['id']}", json={"content": "edited"}),
       200)
    edited = head(api)
    m2 = send(bob, chat, "regrettable")
    ok(bob.http.delete(f"/api/chats/{chat}/messages/{m2['id']}"))
    deleted = head(api)
    ok(bob.http.put(f"/api/chats/{chat}/messages/{m1['id']}/reactions/{quote('👍')}"))
    reacted = head(api)
    ok(alice.http.post(f"/api/chats/{chat}/pins/{m1['id']}"))
    pinned = head(api)
    ok(bob.http.delete(f"/api/chats/{chat}/messages/{m1['id']}/reactions/{quote('👍')}"))
    unreacted = head(api)
    ok(bob.http.post(f"/api/chats/{chat}/read", json={"messageId": m1["id"]}))
    read = head(api)
    ok(alice.http.delete(f"/api/chats/{chat}/members/{bob.id}"))
    removed = head(api)
    m3 = send(alice, chat, "while bob is away")
    ok(alice.http.post(f"/api/chats/{chat}/members", json={"userId": bob.id}), 200)
    readded = head(api)
    m4 = send(alice, chat, "bob is back")
    now = head(api)

    # Members then.
    assert chat_then(alice, chat, created)["memberIds"] == sorted([alice.id, bob.id])
    assert chat_then(alice, chat, added - 1)["memberIds"] == sorted([alice.id, bob.id])
    assert chat_then(alice, chat, added)["memberIds"] == sorted([alice.id, bob.id, carol.id])
    assert chat_then(alice, chat, removed)["memberIds"] == sorted([alice.id, carol.id])
    assert chat_then(alice, chat, readded)["memberIds"] == sorted([alice.id, bob.id, carol.id])

    def contents(as_of: int, user: User = alice) -> list[tuple[str, str | None]]:
        return [(m["id"], m["content"]) for m in then(user, chat, as_of)]

    # Before the first message: nothing; then the original, then the edit.
    assert then(alice, chat, created) == []
    [original] = then(alice, chat, sent)
    assert (original["content"], original["editedAt"], original["seq"]) == (
        "original", None, m1["seq"])
    assert contents(edited - 1) == [(m1["id"], "original")]
    [after_edit] = then(alice, chat, edited)
    assert after_edit["content"] == "edited" and after_edit["editedAt"] is not None
    # The delete: the text until it, its place with no text after.
    assert contents(deleted - 1) == [(m1["id"], "edited"), (m2["id"], "regrettable")]
    gone = then(alice, chat, deleted)[1]
    assert (gone["content"], gone["deleted"], gone["senderId"]) == (None, True, bob.id)
    # Reactions and pins as they were.
    at = {p: then(alice, chat, p)[0] for p in (reacted - 1, reacted, pinned, unreacted)}
    assert at[reacted - 1]["reactions"] == {} and at[reacted]["reactions"] == {"👍": [bob.id]}
    assert (at[reacted]["pinned"], at[pinned]["pinned"]) == (False, True)
    assert at[unreacted]["reactions"] == {} and at[unreacted]["pinned"] is True
    # Receipts then.
    assert then(alice, chat, read - 1)[0]["readBy"] == []
    assert then(alice, chat, read)[0]["readBy"] == [bob.id]
    # Today's history says what happened since: the answers above are the past.
    current = alice.http.get(f"/api/chats/{chat}/messages").json()["messages"]
    assert [m["content"] for m in current] == ["edited", None, "while bob is away",
                                               "bob is back"]

    # alice was there throughout; bob was away between his removal and re-adding.
    everything = [(m1["id"], "edited"), (m2["id"], None), (m3["id"], "while bob is away"),
                  (m4["id"], "bob is back")]
    assert contents(now) == everything
    assert contents(now, bob) == [everything[0], everything[1], everything[3]]
    assert contents(removed - 1, bob) == everything[:2]
    # carol joined after m1 was sent: she sees from her joining on.
    assert contents(now, carol) == everything[1:]
    assert then(carol, chat, added) == []


def test_only_members_at_that_position_may_look(api: Api) -> None:
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    before_chat = head(api)
    chat = new_chat(alice, bob)["id"]
    send(alice, chat, "hi")
    ok(alice.http.delete(f"/api/chats/{chat}/members/{bob.id}"))
    removed = head(api)
    ok(alice.http.post(f"/api/chats/{chat}/members", json={"userId": carol.id}), 200)
    for path in (f"/api/chats/{chat}", f"/api/chats/{chat}/messages"):
        expect_error(bob.http.get(path, params={"asOf": removed}), 403, "forbidden")
        ok(bob.http.get(path, params={"asOf": removed - 1}), 200)  # still a member then
        expect_error(carol.http.get(path, params={"asOf": removed}), 403, "forbidden")
        expect_error(alice.http.get(path, params={"asOf": before_chat}), 404, "not_found")
        expect_error(alice.http.get(path.replace(chat, str(uuid.uuid4())),
                                    params={"asOf": removed}), 404, "not_found")


@pytest.mark.parametrize("as_of", ["-1", "abc", "1.5", "", "99999999999", "1e3"])
def test_bad_positions_are_refused_with_a_clear_400(api: Api, as_of: str) -> None:
    alice = api.user("alice")
    chat = new_chat(alice)["id"]
    send(alice, chat, "x")
    for path in (f"/api/chats/{chat}", f"/api/chats/{chat}/messages"):
        body = expect_error(alice.http.get(path, params={"asOf": as_of}), 400, "invalid",
                            "asOf")
        assert "asOf" in body["error"]


def test_a_position_beyond_the_head_names_the_head(api: Api) -> None:
    alice = api.user("alice")
    chat = new_chat(alice)["id"]
    latest = head(api)
    body = expect_error(alice.http.get(f"/api/chats/{chat}/messages",
                                       params={"asOf": latest + 1}), 400, "invalid", "asOf")
    assert str(latest) in body["error"]
    ok(alice.http.get(f"/api/chats/{chat}/messages", params={"asOf": latest}), 200)


def test_pages_as_of_a_position_walk_back_with_next_before(api: Api) -> None:
    alice = api.user("alice")
    chat = new_chat(alice)["id"]
    sent = [send(alice, chat, f"m{i}") for i in range(7)]
    as_of = sent[4]["seq"]  # m5 and m6 come later
    send(alice, chat, "later")
    response = alice.http.get(f"/api/chats/{chat}/messages",
                              params={"asOf": as_of, "limit": 2}).json()
    assert [m["content"] for m in response["messages"]] == ["m3", "m4"]
    older = alice.http.get(f"/api/chats/{chat}/messages", params={
        "asOf": as_of, "limit": 3, "before": response["nextBefore"]}).json()
    assert [m["content"] for m in older["messages"]] == ["m0", "m1", "m2"]
    assert older["nextBefore"] is None
    forward = alice.http.get(f"/api/chats/{chat}/messages", params={
        "asOf": as_of, "after": sent[2]["seq"]}).json()
    assert [m["content"] for m in forward["messages"]] == ["m3", "m4"]


def test_time_travel_never_shows_erased_text(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    chat = new_chat(alice, bob)["id"]
    marker = f"alice-secret-{uuid.uuid4().hex}"
    mine = send(alice, chat, marker)
    ok(alice.http.patch(f"/api/chats/{chat}/messages/{mine['id']}",
                        json={"content": marker + " (edited)"}), 200)
    reply = send(bob, chat, "bob's reply")
    before_erasure = head(api)
    ok(alice.http.delete("/api/me"))
    for as_of in (mine["seq"], before_erasure, head(api)):
        response = bob.http.get(f"/api/chats/{chat}/messages", params={"asOf": as_of})
        assert response.status_code == 200, response.text
        assert marker not in response.text
        by_id = {m["id"]: m for m in response.json()["messages"]}
        assert (by_id[mine["id"]]["content"], by_id[mine["id"]]["erased"]) == (None, True)
        if reply["id"] in by_id:
            assert (by_id[reply["id"]]["content"], by_id[reply["id"]]["erased"]) == (
                "bob's reply", False)
