"""Privacy settings over REST (CONTRACT "Privacy and erasure"), against a real
`eschat serve` on each backend: readReceipts off keeps a reader out of `readBy` and
of everyone else's `/api/events`, while their own unread count still goes to zero."""

from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.integration.rest.helpers import Api, User, expect_error, new_chat, send, stored_events


def settings(user: User) -> dict[str, Any]:
    response = user.http.get("/api/me/settings")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(user: User, **body: object) -> dict[str, Any]:
    response = user.http.patch("/api/me/settings", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def read(user: User, chat_id: str, message_id: str) -> None:
    response = user.http.post(f"/api/chats/{chat_id}/read", json={"messageId": message_id})
    assert response.status_code == 204, response.text


def history(user: User, chat_id: str) -> list[dict[str, Any]]:
    response = user.http.get(f"/api/chats/{chat_id}/messages")
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def unread(user: User, chat_id: str) -> int:
    [entry] = [c for c in user.http.get("/api/chats").json() if c["id"] == chat_id]
    return int(entry["unreadCount"])


def test_settings_default_to_true_and_change_one_at_a_time(api: Api) -> None:
    alice = api.user("alice")
    assert settings(alice) == {"readReceipts": True, "lastSeen": True}
    assert patch(alice, readReceipts=False) == {"readReceipts": False, "lastSeen": True}
    assert patch(alice, lastSeen=False) == {"readReceipts": False, "lastSeen": False}
    assert patch(alice, lastSeen=False) == {"readReceipts": False, "lastSeen": False}  # no-op
    assert patch(alice, readReceipts=True, lastSeen=True) == {"readReceipts": True,
                                                              "lastSeen": True}
    assert settings(alice) == {"readReceipts": True, "lastSeen": True}
    expect_error(api.http.get("/api/me/settings"), 401, "unauthorized")


@pytest.mark.parametrize(("body", "field"), [
    ({"readReceipts": "false"}, "readReceipts"),
    ({"readReceipts": 0}, "readReceipts"),
    ({"lastSeen": None}, "lastSeen"),
    ({"lastSeen": [True]}, "lastSeen"),
    ({"readReceipts": True, "typing": False}, None),
    ({}, None),
    ([True], None),
])
def test_bad_settings_are_refused_and_store_nothing(
    api: Api, live_server: ServerProcess, body: object, field: str | None,
) -> None:
    alice = api.user("alice")
    before = stored_events(live_server)
    body_error = expect_error(alice.http.patch("/api/me/settings", json=body), 400, "invalid",
                              field)
    assert body_error["error"]
    assert stored_events(live_server) == before
    assert settings(alice) == {"readReceipts": True, "lastSeen": True}


def test_empty_or_malformed_bodies_are_refused(api: Api, live_server: ServerProcess) -> None:
    alice = api.user("alice")
    before = stored_events(live_server)
    for content in (b"", b"{", b"null", b"true"):
        response = alice.http.patch("/api/me/settings", content=content,
                                    headers={"Content-Type": "application/json"})
        expect_error(response, 400, "invalid")
    assert stored_events(live_server) == before


def test_a_reader_with_receipts_off_is_in_no_read_by_and_their_unread_still_goes_to_zero(
    api: Api,
) -> None:
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    chat = new_chat(alice, bob, carol)["id"]
    patch(bob, readReceipts=False)
    m1, m2 = send(alice, chat, "one"), send(alice, chat, "two")
    assert unread(bob, chat) == 2
    read(bob, chat, m2["id"])
    read(carol, chat, m1["id"])
    assert unread(bob, chat) == 0  # his own count follows his reads
    for viewer in (alice, carol, bob):
        messages = history(viewer, chat)
        assert [m["readBy"] for m in messages] == [[carol.id], []]
        # Delivery is not reading: bob has both messages.
        assert [m["deliveredTo"] for m in messages] == [sorted([bob.id, carol.id]), [bob.id]]
    # Nobody else's sync feed has bob's read; his own does (his other devices).
    for other in (alice, carol):
        feed = other.http.get("/api/events", params={"after": 0}).json()
        assert [e["data"]["userId"] for e in feed if e["type"] == "message-read"] == [carol.id]
    own = bob.http.get("/api/events", params={"after": 0}).json()
    assert bob.id in [e["data"]["userId"] for e in own if e["type"] == "message-read"]

    # Back on: what he read meanwhile stays unknown; his next read is public again.
    patch(bob, readReceipts=True)
    assert [m["readBy"] for m in history(alice, chat)] == [[carol.id], []]
    m3 = send(alice, chat, "three")
    read(bob, chat, m3["id"])
    assert [m["readBy"] for m in history(alice, chat)] == [
        sorted([bob.id, carol.id]), [bob.id], [bob.id]]

    # Off again: his earlier public reads leave readBy too, while it is off.
    patch(bob, readReceipts=False)
    assert [m["readBy"] for m in history(alice, chat)] == [[carol.id], [], []]
