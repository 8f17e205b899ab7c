"""The chat scenario of the core issue, run on SQLite and on PostgreSQL."""

import pytest

from domain.errors import Forbidden
from infrastructure.eventstore import head_position
from interfaces.server import Container


async def users(container: Container, *names: str) -> None:
    for name in names:
        await container.service.ensure_user(name)


async def test_send_deliver_read_brings_unread_count_to_zero(container: Container) -> None:
    s = container.service
    await users(container, "alice", "bob")
    chat = await s.create_chat("alice", "team", ["bob"])
    assert chat.member_ids == ["alice", "bob"]

    first = await s.send_message("alice", chat.id, "hello")
    second = await s.send_message("alice", chat.id, "anyone?")
    assert second.message.seq > first.message.seq

    [bob_chat] = await s.chats_of("bob")
    assert bob_chat.unread_count == 2
    assert bob_chat.last_message is not None and bob_chat.last_message.content == "anyone?"
    [alice_chat] = await s.chats_of("alice")
    assert alice_chat.unread_count == 0  # one's own messages are never unread

    await s.mark_delivered("bob", chat.id, first.message.id)
    messages, _ = await s.history("alice", chat.id)
    assert [m.delivered_to for m in messages] == [["bob"], []]

    # Reading the second message reads the first too.
    await s.mark_read("bob", chat.id, second.message.id)
    [bob_chat] = await s.chats_of("bob")
    assert bob_chat.unread_count == 0
    messages, next_before = await s.history("bob", chat.id)
    assert [m.read_by for m in messages] == [["bob"], ["bob"]]
    assert [m.delivered_to for m in messages] == [["bob"], ["bob"]]
    assert next_before is None


async def test_retry_with_same_client_message_id_stores_nothing(container: Container) -> None:
    s = container.service
    await users(container, "alice", "bob")
    chat = await s.create_chat("alice", None, ["bob"])
    first = await s.send_message("alice", chat.id, "once", "client-1")
    head = head_position(container.store)

    retry = await s.send_message("alice", chat.id, "a different text", "client-1")

    assert retry.duplicate and not first.duplicate
    assert retry.message.id == first.message.id
    assert retry.message.seq == first.message.seq
    assert retry.message.content == "once"
    assert head_position(container.store) == head
    messages, _ = await s.history("bob", chat.id)
    assert [m.content for m in messages] == ["once"]


async def test_non_member_cannot_send(container: Container) -> None:
    s = container.service
    await users(container, "alice", "bob", "mallory")
    chat = await s.create_chat("alice", None, ["bob"])
    head = head_position(container.store)

    with pytest.raises(Forbidden):
        await s.send_message("mallory", chat.id, "let me in")
    with pytest.raises(Forbidden):
        await s.history("mallory", chat.id)

    assert head_position(container.store) == head


async def test_removed_member_can_no_longer_send_and_added_member_can(container: Container) -> None:
    s = container.service
    await users(container, "alice", "bob", "carol")
    chat = await s.create_chat("alice", None, ["bob"])
    await s.send_message("alice", chat.id, "before carol")
    await s.add_member("alice", chat.id, "carol")
    await s.remove_member("alice", chat.id, "bob")

    with pytest.raises(Forbidden):
        await s.send_message("bob", chat.id, "still here?")
    await s.send_message("carol", chat.id, "hi all")

    [carol_chat] = await s.chats_of("carol")
    assert carol_chat.unread_count == 0  # history from before joining is not unread
    assert (await s.chat_for("alice", chat.id)).member_ids == ["alice", "carol"]
    assert await s.chats_of("bob") == []


async def test_presence_follows_connections(container: Container) -> None:
    s = container.service
    await users(container, "alice")
    await s.node_started(lease_seconds=30)
    connection = await s.open_connection("alice")
    await s.sync()
    [p] = await s.presence(["alice"])
    assert p.online and p.last_seen is None

    await s.close_connection(connection)
    await s.sync()
    [p] = await s.presence(["alice"])
    assert not p.online and p.last_seen is not None
