"""Bad input to the endpoints of "Chats people run": a clear 400/404 naming the field,
nothing stored, never a 500; and what the owner's role changes look like."""

from tests.conftest import ServerProcess
from tests.integration.rest.helpers import Api, expect_error, new_chat, send, stored_events


def test_bad_bodies_and_targets_are_refused_with_the_field_named(
    api: Api, live_server: ServerProcess,
) -> None:
    server = live_server
    owner, bob, outsider = api.user("owner"), api.user("bob"), api.user("outsider")
    chat = new_chat(owner, bob)
    c = chat["id"]
    message = send(owner, c, "hi")
    other_chat = new_chat(owner)
    other_message = send(owner, other_chat["id"], "elsewhere")
    o = owner.http
    before = stored_events(server)
    cases = [
        (o.patch(f"/api/chats/{c}", json={"title": "x" * 201}), 400, "invalid", "title"),
        (o.patch(f"/api/chats/{c}", json={"description": "x" * 1001}), 400, "invalid",
         "description"),
        (o.patch(f"/api/chats/{c}", json={"title": 5}), 400, "invalid", "title"),
        (o.put(f"/api/chats/{c}/admins/{outsider.id}"), 400, "invalid", "userId"),
        (o.put(f"/api/chats/{c}/admins/nobody-at-all"), 400, "invalid", "userId"),
        (o.delete(f"/api/chats/{c}/admins/{owner.id}"), 400, "invalid", "userId"),
        (o.post(f"/api/chats/{c}/owner", json={"userId": outsider.id}), 400, "invalid",
         "userId"),
        (o.post(f"/api/chats/{c}/owner", json={}), 400, "invalid", "userId"),
        (o.post(f"/api/chats/{c}/bans", json={"userId": "nobody-at-all"}), 404, "not_found",
         None),
        (o.post(f"/api/chats/{c}/bans", json={"userId": bob.id, "reason": "x" * 501}), 400,
         "invalid", "reason"),
        (o.post(f"/api/chats/{c}/bans", json={"userId": owner.id}), 400, "invalid", "userId"),
        (o.post(f"/api/chats/{c}/mutes", json={"userId": outsider.id}), 400, "invalid",
         "userId"),
        (o.post(f"/api/chats/{c}/mutes", json={"userId": bob.id,
                                              "until": "2001-01-01T00:00:00.000Z"}),
         400, "invalid", "until"),
        (o.post(f"/api/chats/{c}/mutes", json={"userId": bob.id, "until": "tomorrow"}), 400,
         "invalid", "until"),
        (o.post(f"/api/chats/{c}/messages/{message['id']}/reports", json={"reason": " "}),
         400, "invalid", "reason"),
        (o.post(f"/api/chats/{c}/messages/{message['id']}/reports", json={}), 400, "invalid",
         "reason"),
        (o.post(f"/api/chats/{c}/messages/{other_message['id']}/reports",
                json={"reason": "r"}), 404, "not_found", None),
        (o.delete(f"/api/chats/{c}/invites/not-a-code"), 404, "not_found", None),
        (o.post("/api/chats", json={"memberIds": [owner.id], "direct": True}), 400, "invalid",
         "memberIds"),
        (o.post("/api/chats", json={"memberIds": [bob.id, outsider.id], "direct": True}),
         400, "invalid", "memberIds"),
        (o.post("/api/chats", json={"memberIds": ["nobody-at-all"], "direct": True}), 404,
         "not_found", None),
        (o.post("/api/chats", json={"memberIds": [bob.id], "direct": "yes"}), 400, "invalid",
         "direct"),
        (o.put("/api/me/blocks/" + "x" * 300), 400, "invalid", "userId"),
        (o.put(f"/api/me/blocks/{owner.id}"), 400, "invalid", "userId"),
    ]
    for response, status, code, field in cases:
        expect_error(response, status, code, field)
    assert stored_events(server) == before


def test_owner_changes_are_what_the_contract_says(api: Api) -> None:
    owner, ann, bob = api.user("owner"), api.user("ann"), api.user("bob")
    chat = new_chat(owner, ann, bob)
    c = chat["id"]
    assert (chat["kind"], chat["ownerId"], chat["admins"], chat["description"]) == (
        "group", owner.id, [owner.id], "")
    assert owner.http.put(f"/api/chats/{c}/admins/{bob.id}").status_code == 204
    assert owner.http.put(f"/api/chats/{c}/admins/{bob.id}").status_code == 204  # again: same
    patched = owner.http.patch(f"/api/chats/{c}", json={"description": "about"})
    assert patched.status_code == 200 and patched.json()["description"] == "about"
    assert patched.json()["title"] == chat["title"]  # untouched when absent
    # the owner leaves: the oldest admin owns the chat
    assert owner.http.post(f"/api/chats/{c}/leave").status_code == 204
    now = bob.http.get(f"/api/chats/{c}").json()
    assert (now["ownerId"], now["admins"]) == (bob.id, [bob.id])
    assert sorted(now["memberIds"]) == sorted([ann.id, bob.id])
    # the last admin hands over and leaves: ann owns it
    assert bob.http.post(f"/api/chats/{c}/owner", json={"userId": ann.id}).status_code == 204
    assert bob.http.post(f"/api/chats/{c}/leave").status_code == 204
    last = ann.http.get(f"/api/chats/{c}").json()
    assert (last["ownerId"], last["admins"], last["memberIds"]) == (ann.id, [ann.id], [ann.id])
    listed = next(x for x in ann.http.get("/api/chats").json() if x["id"] == c)
    assert (listed["ownerId"], listed["admins"], listed["description"]) == (
        ann.id, [ann.id], "about")
    # a member removed by an admin is gone from the admins too
    expect_error(owner.http.get(f"/api/chats/{c}"), 403, "forbidden")
