"""Sending, idempotent retries, read-your-writes, receipts and history cursors."""

import uuid

from tests.integration.rest.helpers import Api, expect_error, new_chat, send

UNKNOWN = str(uuid.uuid4())
MESSAGE_KEYS = {"id", "chatId", "senderId", "content", "seq", "createdAt", "clientMessageId",
                "deliveredTo", "readBy", "editedAt", "deleted", "replyTo", "threadId",
                "threadReplyCount", "threadLastReplyAt", "reactions", "mentions", "pinned",
                "erased"}


def test_send_returns_201_and_history_sees_it_at_once(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    chat = new_chat(alice, bob)
    response = alice.http.post(f"/api/chats/{chat['id']}/messages", json={"content": "hello"})
    assert response.status_code == 201
    message = response.json()
    assert set(message) == MESSAGE_KEYS
    assert (message["chatId"], message["senderId"], message["content"]) == (
        chat["id"], alice.id, "hello")
    assert message["clientMessageId"] is None
    assert message["deliveredTo"] == [] and message["readBy"] == []
    assert "idempotent-replayed" not in response.headers
    # Read-your-writes: the very next query, by anyone, sees it.
    page = bob.http.get(f"/api/chats/{chat['id']}/messages").json()
    assert page == {"messages": [message], "nextBefore": None}


def test_retry_with_same_client_message_id_returns_the_first_message(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    chat = new_chat(alice, bob)
    first = send(alice, chat["id"], "once", client_message_id="c-1")
    retry = alice.http.post(f"/api/chats/{chat['id']}/messages",
                            json={"content": "changed on retry", "clientMessageId": "c-1"})
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first
    # Another sender may use the same clientMessageId: ids are per sender.
    other = send(bob, chat["id"], "mine", client_message_id="c-1")
    assert other["id"] != first["id"]
    messages = alice.http.get(f"/api/chats/{chat['id']}/messages").json()["messages"]
    assert [m["content"] for m in messages] == ["once", "mine"]


def test_read_marks_earlier_messages_and_shows_in_receipts_and_unread(api: Api) -> None:
    alice, bob, carol = api.user("alice"), api.user("bob"), api.user("carol")
    chat = new_chat(alice, bob, carol)
    sent = [send(alice, chat["id"], f"m{i}") for i in range(4)]
    response = bob.http.post(f"/api/chats/{chat['id']}/read", json={"messageId": sent[2]["id"]})
    assert response.status_code == 204
    assert response.content == b""
    messages = alice.http.get(f"/api/chats/{chat['id']}/messages").json()["messages"]
    assert [m["readBy"] for m in messages] == [[bob.id], [bob.id], [bob.id], []]
    assert [m["deliveredTo"] for m in messages] == [[bob.id], [bob.id], [bob.id], []]
    listed = {c["id"]: c for c in bob.http.get("/api/chats").json()}
    assert listed[chat["id"]]["unreadCount"] == 1
    assert carol.http.get("/api/chats").json()[0]["unreadCount"] == 4


def test_history_cursors_walk_both_ways(api: Api) -> None:
    alice = api.user("alice")
    chat = new_chat(alice)
    seqs = [send(alice, chat["id"], f"m{i}")["seq"] for i in range(7)]
    assert seqs == sorted(seqs)
    url = f"/api/chats/{chat['id']}/messages"

    def page(**params: int) -> tuple[list[int], int | None]:
        response = alice.http.get(url, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        return [m["seq"] for m in body["messages"]], body["nextBefore"]

    assert page(limit=3) == (seqs[4:], seqs[4])
    assert page(limit=3, before=seqs[4]) == (seqs[1:4], seqs[1])
    assert page(limit=3, before=seqs[1]) == (seqs[:1], None)
    assert page(limit=3, after=seqs[0]) == (seqs[1:4], seqs[1])
    assert page(limit=3, after=seqs[6]) == ([], None)
    assert page(after=seqs[1], before=seqs[5]) == (seqs[2:5], seqs[2])
    assert page(limit=7) == (seqs, None)


def test_outsiders_get_403_and_unknown_ids_404(api: Api) -> None:
    alice, mallory = api.user("alice"), api.user("mallory")
    chat = new_chat(alice)
    message = send(alice, chat["id"], "secret")
    path = f"/api/chats/{chat['id']}"
    expect_error(mallory.http.get(f"{path}/messages"), 403, "forbidden")
    expect_error(mallory.http.post(f"{path}/messages", json={"content": "x"}), 403, "forbidden")
    expect_error(mallory.http.post(f"{path}/read", json={"messageId": message["id"]}),
                 403, "forbidden")

    expect_error(alice.http.get(f"/api/chats/{UNKNOWN}/messages"), 404, "not_found")
    expect_error(alice.http.post(f"/api/chats/{UNKNOWN}/messages", json={"content": "x"}),
                 404, "not_found")
    expect_error(alice.http.post(f"{path}/read", json={"messageId": UNKNOWN}), 404, "not_found")
    other = new_chat(alice)
    expect_error(alice.http.post(f"/api/chats/{other['id']}/read",
                                 json={"messageId": message["id"]}), 404, "not_found")
    assert [m["content"] for m in alice.http.get(f"{path}/messages").json()["messages"]] == [
        "secret"]


def test_bad_message_input_names_the_field(api: Api) -> None:
    alice = api.user("alice")
    chat = new_chat(alice)
    path = f"/api/chats/{chat['id']}"
    post, get = alice.http.post, alice.http.get
    expect_error(post(f"{path}/messages", json={}), 400, "invalid", "content")
    expect_error(post(f"{path}/messages", json={"content": 42}), 400, "invalid", "content")
    expect_error(post(f"{path}/messages", json={"content": "   "}), 400, "invalid", "content")
    expect_error(post(f"{path}/messages", json={"content": "x" * 4001}), 400, "invalid",
                 "content")
    expect_error(post(f"{path}/messages", json={"content": "x", "clientMessageId": 7}), 400,
                 "invalid", "clientMessageId")
    expect_error(post(f"{path}/messages", json={"content": "x", "clientMessageId": ""}), 400,
                 "invalid", "clientMessageId")
    expect_error(post(f"{path}/read", json={"messageId": "nope"}), 400, "invalid", "messageId")
    expect_error(post(f"{path}/read", json={}), 400, "invalid", "messageId")
    expect_error(get(f"{path}/messages", params={"limit": 0}), 400, "invalid", "limit")
    expect_error(get(f"{path}/messages", params={"limit": 201}), 400, "invalid", "limit")
    expect_error(get(f"{path}/messages", params={"before": "x"}), 400, "invalid", "before")
    expect_error(get(f"{path}/messages", params={"after": -1}), 400, "invalid", "after")
    assert get(f"{path}/messages").json()["messages"] == []
    assert send(alice, chat["id"], "x" * 4000)["content"] == "x" * 4000
