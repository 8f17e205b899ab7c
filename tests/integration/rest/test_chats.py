"""Chats: create, list with unread counts and last message, get, membership."""

import uuid

from tests.integration.rest.helpers import Api, expect_error, new_chat, send

UNKNOWN = str(uuid.uuid4())


def test_create_then_get_and_list_with_unread_and_last_message(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    chat = new_chat(alice, bob, title="Lunch")
    assert chat["title"] == "Lunch"
    assert sorted(chat["memberIds"]) == sorted([alice.id, bob.id])
    assert chat["createdBy"] == alice.id
    assert chat["createdAt"].endswith("Z")

    got = bob.http.get(f"/api/chats/{chat['id']}")
    assert got.status_code == 200
    assert got.json()["id"] == chat["id"]
    assert sorted(got.json()["memberIds"]) == sorted([alice.id, bob.id])

    for text in ("one", "two", "three"):
        last = send(alice, chat["id"], text)
    listed = bob.http.get("/api/chats")
    assert listed.status_code == 200
    items = listed.json()
    assert isinstance(items, list) and [c["id"] for c in items] == [chat["id"]]
    assert items[0]["unreadCount"] == 3
    assert items[0]["lastMessage"]["id"] == last["id"]
    assert items[0]["lastMessage"]["content"] == "three"
    assert alice.http.get("/api/chats").json()[0]["unreadCount"] == 0  # one's own messages


def test_chat_list_puts_recent_activity_first_and_shows_only_ones_chats(api: Api) -> None:
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    first = new_chat(alice, bob, title="first")
    second = new_chat(alice, carol, title="second")
    send(alice, second["id"], "x")
    send(alice, first["id"], "y")
    assert [c["title"] for c in alice.http.get("/api/chats").json()] == ["first", "second"]
    assert [c["title"] for c in carol.http.get("/api/chats").json()] == ["second"]
    empty = api.user("dave").http.get("/api/chats")
    assert empty.status_code == 200 and empty.json() == []


def test_members_are_added_and_removed(api: Api) -> None:
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    chat = new_chat(alice, bob)
    path = f"/api/chats/{chat['id']}"
    expect_error(carol.http.get(path), 403, "forbidden")

    expect_error(bob.http.post(f"{path}/members", json={"userId": carol.id}), 403, "forbidden")
    added = alice.http.post(f"{path}/members", json={"userId": carol.id})  # the owner
    assert added.status_code == 200
    assert carol.id in added.json()["memberIds"]
    assert carol.http.get(path).status_code == 200
    assert [c["id"] for c in carol.http.get("/api/chats").json()] == [chat["id"]]

    removed = alice.http.delete(f"{path}/members/{carol.id}")
    assert removed.status_code == 204
    assert carol.id not in alice.http.get(path).json()["memberIds"]
    expect_error(carol.http.get(path), 403, "forbidden")
    assert carol.http.get("/api/chats").json() == []


def test_member_ids_with_reserved_characters_survive_the_path(api: Api) -> None:
    alice = api.user("alice")
    odd = api.name("o@d.d")  # '@' is percent-encoded by careful clients
    assert api.register(odd).status_code == 201
    chat = new_chat(alice, odd)
    response = alice.http.delete(f"/api/chats/{chat['id']}/members/{odd.replace('@', '%40')}")
    assert response.status_code == 204
    assert alice.http.get(f"/api/chats/{chat['id']}").json()["memberIds"] == [alice.id]


def test_outsiders_get_403_and_unknown_ids_404(api: Api) -> None:
    alice, bob, mallory = api.user("alice"), api.user("bob"), api.user("mallory")
    chat = new_chat(alice, bob)
    path = f"/api/chats/{chat['id']}"
    expect_error(mallory.http.get(path), 403, "forbidden")
    expect_error(mallory.http.post(f"{path}/members", json={"userId": mallory.id}),
                 403, "forbidden")
    expect_error(mallory.http.delete(f"{path}/members/{bob.id}"), 403, "forbidden")
    assert sorted(alice.http.get(path).json()["memberIds"]) == sorted([alice.id, bob.id])

    expect_error(alice.http.get(f"/api/chats/{UNKNOWN}"), 404, "not_found")
    expect_error(alice.http.get("/api/chats/not-a-uuid"), 404, "not_found")
    expect_error(alice.http.post(f"/api/chats/{UNKNOWN}/members", json={"userId": bob.id}),
                 404, "not_found")
    expect_error(alice.http.delete(f"/api/chats/{UNKNOWN}/members/{bob.id}"), 404, "not_found")
    expect_error(alice.http.post(f"{path}/members", json={"userId": api.name("ghost")}),
                 404, "not_found")
    expect_error(alice.http.post("/api/chats", json={"memberIds": [api.name("ghost")]}),
                 404, "not_found")


def test_bad_chat_bodies_name_the_field(api: Api) -> None:
    alice = api.user("alice")
    post = alice.http.post
    expect_error(post("/api/chats", json={"title": "t"}), 400, "invalid", "memberIds")
    expect_error(post("/api/chats", json={"memberIds": "bob"}), 400, "invalid", "memberIds")
    expect_error(post("/api/chats", json={"memberIds": ["ok", 3]}), 400, "invalid",
                 "memberIds[1]")
    expect_error(post("/api/chats", json={"memberIds": [], "title": "x" * 201}), 400,
                 "invalid", "title")
    expect_error(post("/api/chats", json={"memberIds": [], "title": 7}), 400, "invalid",
                 "title")
    chat = new_chat(alice)
    expect_error(post(f"/api/chats/{chat['id']}/members", json={}), 400, "invalid", "userId")
    expect_error(post(f"/api/chats/{chat['id']}/members", json={"userId": "a b"}), 400,
                 "invalid", "userId")
    assert [c["id"] for c in alice.http.get("/api/chats").json()] == [chat["id"]]
