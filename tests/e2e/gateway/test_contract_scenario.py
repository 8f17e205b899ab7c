"""The whole Socket.IO contract, played by stock clients against a real server,
on SQLite and on PostgreSQL: socket.io-client (node) for alice, python-socketio
for bob."""

from collections.abc import Awaitable, Callable

from tests.conftest import ServerProcess
from tests.e2e.clients import JsClient, PyClient
from tests.e2e.conftest import create_chat, history


async def test_two_users_play_the_whole_contract(
    server: ServerProcess,
    js_clients: Callable[[str], Awaitable[JsClient]],
    py_clients: Callable[[], PyClient],
) -> None:
    alice_token, bob_token = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice_token, "bob")

    alice = await js_clients(server.url)
    connected = await alice.connect(auth={"token": "Bearer " + alice_token},
                                    transports=["websocket"])
    assert connected["type"] == "connect"
    assert await alice.event("connected") == [{"userId": "alice"}]

    bob = py_clients()
    await bob.connect(server.url, bob_token)
    assert await bob.event("connected") == [{"userId": "bob"}]
    assert (await alice.event("user-online"))[0] == {"userId": "bob"}

    # send with ack: the ack carries the stored position; the room gets new-message
    ack = await alice.call("send-message", {"chatId": chat_id, "content": "hi bob",
                                            "clientMessageId": "a-1"})
    assert ack["success"] is True and ack["seq"] > 0
    [message] = await bob.event("new-message")
    assert message == {
        "id": ack["messageId"], "chatId": chat_id, "senderId": "alice", "content": "hi bob",
        "seq": ack["seq"], "createdAt": ack["createdAt"], "deliveryStatus": "sent",
        "clientMessageId": "a-1",
        # the fields "Messages over time" adds, at their values for a fresh message
        "editedAt": None, "deleted": False, "replyTo": None, "threadId": None,
        "threadReplyCount": 0, "threadLastReplyAt": None, "reactions": {}, "mentions": [],
        "pinned": False, "erased": False,
    }
    # alice takes recovery offsets: the stored position comes as the last argument
    mine = await alice.event("new-message")
    assert mine == [message, str(ack["seq"])]
    retry = await alice.call("send-message", {"chatId": chat_id, "content": "hi bob",
                                              "clientMessageId": "a-1"})
    assert retry == ack

    # typing goes to the others, and stops
    assert await bob.call("typing-start", {"chatId": chat_id}) == {"success": True}
    assert await alice.event("user-typing") == [{"userId": "bob", "chatId": chat_id}]
    assert await bob.call("typing-stop", {"chatId": chat_id}) == {"success": True}
    assert await alice.event("user-stopped-typing") == [{"userId": "bob", "chatId": chat_id}]
    assert bob.events("user-typing") == []  # not echoed to the typist

    # receipts
    assert await bob.call("message-delivered", {"chatId": chat_id,
                                                "messageId": ack["messageId"]}) == {
        "success": True}
    delivered = await alice.event("message-delivered")
    assert delivered[0]["userId"] == "bob" and delivered[0]["messageId"] == ack["messageId"]
    assert await bob.call("message-read", {"chatId": chat_id,
                                           "messageId": ack["messageId"]}) == {"success": True}
    read = await alice.event("message-read")
    assert read[0] == {"chatId": chat_id, "messageId": ack["messageId"], "userId": "bob",
                       "at": read[0]["at"]}
    [stored] = history(server.url, alice_token, chat_id)
    assert stored["deliveredTo"] == ["bob"] and stored["readBy"] == ["bob"]

    # join-chat returns history; leave-chat stops live events; ping answers
    joined = await bob.call("join-chat", {"chatId": chat_id, "limit": 10})
    assert joined["success"] and [m["id"] for m in joined["messages"]] == [ack["messageId"]]
    pong = await alice.call("ping")
    assert pong["success"] and isinstance(pong["pong"], int)
    assert (await alice.event("pong"))[0] == pong["pong"]

    # bob goes offline: alice learns it with lastSeen
    await bob.close()
    offline = await alice.event("user-offline")
    assert offline[0]["userId"] == "bob" and offline[0]["lastSeen"]

    # alice drops off the network; bob sends while she is away; she recovers
    await alice.command("drop")
    await alice.wait(lambda i: i["type"] == "disconnect")
    bob = py_clients()
    await bob.connect(server.url, bob_token)
    missed = [await bob.call("send-message", {"chatId": chat_id, "content": f"missed {i}"})
              for i in range(3)]
    await alice.command("reconnect")
    reconnected = await alice.wait(lambda i: i["type"] == "connect" and i is not connected)
    assert reconnected["recovered"] is True
    for m in missed:
        await alice.event("new-message", lambda args, m=m: args[0]["id"] == m["messageId"])
    ids = [args[0]["id"] for args in alice.events("new-message")]
    assert len(ids) == len(set(ids)) == 4  # every message once, none twice


async def test_recovery_after_the_server_restarted(
    server_factory: Callable[..., ServerProcess],
    database_url: str,
    js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    first = server_factory(database_url)
    alice_token, bob_token = first.token("alice"), first.token("bob")
    chat_id = create_chat(first.url, alice_token, "bob")
    alice = await js_clients(first.url)
    await alice.connect(auth={"token": alice_token})  # default transports: polling, upgrade
    before = await alice.call("send-message", {"chatId": chat_id, "content": "before"})
    await alice.event("new-message")

    assert first.stop() == 0  # graceful stop
    await alice.wait(lambda i: i["type"] == "disconnect")
    second = server_factory(database_url, port=first.port, data_dir=first.log_path.parent)
    import httpx

    sent = []
    for i in range(3):
        response = httpx.post(f"{second.url}/api/chats/{chat_id}/messages",
                              json={"content": f"while away {i}"},
                              headers={"Authorization": f"Bearer {bob_token}"})
        assert response.status_code == 201, response.text
        sent.append(response.json()["id"])

    # the stock client reconnects by itself and recovers from the store
    reconnect = await alice.wait(
        lambda i: i["type"] == "connect" and i.get("recovered") is True, timeout=20)
    assert reconnect["recovered"] is True
    for message_id in sent:
        await alice.event("new-message", lambda args, m=message_id: args[0]["id"] == m)
    ids = [args[0]["id"] for args in alice.events("new-message")]
    assert ids == [before["messageId"], *sent]
