"""Presence and the event feed (GET /api/events)."""

from tests.integration.rest.helpers import Api, expect_error, new_chat, send


def test_presence_lists_each_requested_user(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    response = alice.http.get("/api/presence", params={"userIds": f"{alice.id},{bob.id}"})
    assert response.status_code == 200
    assert response.json() == [
        {"userId": alice.id, "online": False, "lastSeen": None},
        {"userId": bob.id, "online": False, "lastSeen": None},
    ]
    assert alice.http.get("/api/presence", params={"userIds": ""}).json() == []
    expect_error(alice.http.get("/api/presence"), 400, "invalid", "userIds")
    too_many = ",".join(f"u{i}" for i in range(201))
    expect_error(alice.http.get("/api/presence", params={"userIds": too_many}), 400,
                 "invalid", "userIds")


def test_events_are_the_users_visible_events_in_order(api: Api) -> None:
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    ours = new_chat(alice, bob)
    theirs = new_chat(carol)
    hello = send(alice, ours["id"], "hello")
    send(carol, theirs["id"], "private")
    read = bob.http.post(f"/api/chats/{ours['id']}/read", json={"messageId": hello["id"]})
    assert read.status_code == 204

    response = bob.http.get("/api/events", params={"after": 0})
    assert response.status_code == 200
    events = response.json()
    assert [e["type"] for e in events] == ["chat-added", "new-message", "message-read"]
    assert {e["chatId"] for e in events} == {ours["id"]}
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert events[1]["position"] == hello["seq"]
    assert events[1]["data"]["content"] == "hello"
    assert events[2]["data"] == {"chatId": ours["id"], "messageId": hello["id"],
                                 "userId": bob.id, "at": events[2]["data"]["at"]}

    after_first = bob.http.get("/api/events", params={"after": positions[0], "limit": 1})
    assert [e["position"] for e in after_first.json()] == [positions[1]]
    assert bob.http.get("/api/events", params={"after": positions[-1]}).json() == []
    assert "private" not in str(bob.http.get("/api/events").json())


def test_bad_event_cursors_name_the_field(api: Api) -> None:
    alice = api.user("alice")
    expect_error(alice.http.get("/api/events", params={"after": -1}), 400, "invalid", "after")
    expect_error(alice.http.get("/api/events", params={"after": "x"}), 400, "invalid", "after")
    expect_error(alice.http.get("/api/events", params={"limit": 0}), 400, "invalid", "limit")
    expect_error(alice.http.get("/api/events", params={"limit": 1001}), 400, "invalid",
                 "limit")
