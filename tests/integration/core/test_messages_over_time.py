"""Messages over time through the application, on each backend: bad input is
refused with a clear error and stores nothing; what is stored shows in history,
threads, pins, the audit trail and the chat list as the contract says; a deleted
message's content is left in no read model."""

from collections.abc import Awaitable, Callable
from uuid import uuid4

import pytest

from domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from infrastructure.eventstore import head_position
from interfaces.server import Container
from tests.integration.core.readmodel_dump import dump_read_models

UNKNOWN = str(uuid4())


class Story:
    """alice owns a group with bob and carol; mallory is outside; `other` is another
    chat of alice's; `m` is alice's message, `reply` a thread reply to it."""

    def __init__(self, chat: str, other: str, m: str, other_m: str, reply: str,
                 deleted: str) -> None:
        self.chat, self.other, self.m, self.other_m = chat, other, m, other_m
        self.reply, self.deleted = reply, deleted


@pytest.fixture
async def story(container: Container) -> Story:
    s = container.service
    for user in ("alice", "bob", "carol", "mallory"):
        await s.ensure_user(user)
    chat = await s.create_chat("alice", "t", ["bob", "carol"])
    other = await s.create_chat("alice", "o", ["bob"])
    m = (await s.send_message("alice", chat.id, "hi")).message.id
    other_m = (await s.send_message("alice", other.id, "elsewhere")).message.id
    reply = (await s.send_message("bob", chat.id, "in thread", thread_id=m)).message.id
    deleted = (await s.send_message("alice", chat.id, "gone")).message.id
    await s.delete_message("alice", chat.id, deleted)
    return Story(chat.id, other.id, m, other_m, reply, deleted)


BAD: list[tuple[str, type[DomainError], str, Callable[..., Awaitable[object]]]] = [
    ("edit someone else's message", Forbidden, "only the sender",
     lambda s, t: s.edit_message("bob", t.chat, t.m, "mine")),
    ("edit a deleted message", Conflict, "deleted",
     lambda s, t: s.edit_message("alice", t.chat, t.deleted, "back")),
    ("edit with empty content", InvalidInput, "content",
     lambda s, t: s.edit_message("alice", t.chat, t.m, " ")),
    ("edit with oversized content", InvalidInput, "at most 4000",
     lambda s, t: s.edit_message("alice", t.chat, t.m, "x" * 4001)),
    ("edit by a non-member", Forbidden, "not a member",
     lambda s, t: s.edit_message("mallory", t.chat, t.m, "x")),
    ("edit an unknown message", NotFound, "message not found",
     lambda s, t: s.edit_message("alice", t.chat, UNKNOWN, "x")),
    ("edit a message of another chat", NotFound, "message not found",
     lambda s, t: s.edit_message("alice", t.chat, t.other_m, "x")),
    ("delete someone else's message as a member", Forbidden, "sender or an admin",
     lambda s, t: s.delete_message("bob", t.chat, t.m)),
    ("delete by a non-member", Forbidden, "not a member",
     lambda s, t: s.delete_message("mallory", t.chat, t.m)),
    ("delete with malformed id", InvalidInput, "messageId must be a UUID",
     lambda s, t: s.delete_message("alice", t.chat, "nope")),
    ("react with an emoji of 200 characters", InvalidInput, "emoji",
     lambda s, t: s.set_reaction("bob", t.chat, t.m, "x" * 200, True)),
    ("react with an empty emoji", InvalidInput, "emoji",
     lambda s, t: s.set_reaction("bob", t.chat, t.m, "", True)),
    ("react by a non-member", Forbidden, "not a member",
     lambda s, t: s.set_reaction("mallory", t.chat, t.m, "👍", True)),
    ("react to a deleted message", Conflict, "deleted",
     lambda s, t: s.set_reaction("bob", t.chat, t.deleted, "👍", True)),
    ("react in an unknown chat", NotFound, "chat not found",
     lambda s, t: s.set_reaction("bob", UNKNOWN, t.m, "👍", True)),
    ("pin by a member who is not an admin", Forbidden, "only admins",
     lambda s, t: s.set_pin("bob", t.chat, t.m, True)),
    ("pin by a non-member", Forbidden, "not a member",
     lambda s, t: s.set_pin("mallory", t.chat, t.m, True)),
    ("pin a deleted message", Conflict, "deleted",
     lambda s, t: s.set_pin("alice", t.chat, t.deleted, True)),
    ("unpin by a member", Forbidden, "only admins",
     lambda s, t: s.set_pin("bob", t.chat, t.m, False)),
    ("reply to a message of another chat", InvalidInput, "replyTo",
     lambda s, t: s.send_message("alice", t.chat, "x", reply_to=t.other_m)),
    ("reply to an unknown message", InvalidInput, "replyTo",
     lambda s, t: s.send_message("alice", t.chat, "x", reply_to=UNKNOWN)),
    ("reply with a malformed id", InvalidInput, "replyTo must be a UUID",
     lambda s, t: s.send_message("alice", t.chat, "x", reply_to=12)),
    ("thread under a thread reply", InvalidInput, "threads do not nest",
     lambda s, t: s.send_message("alice", t.chat, "x", thread_id=t.reply)),
    ("thread under a message of another chat", InvalidInput, "threadId",
     lambda s, t: s.send_message("alice", t.chat, "x", thread_id=t.other_m)),
    ("thread reply by a non-member", Forbidden, "not a member",
     lambda s, t: s.send_message("mallory", t.chat, "x", thread_id=t.m)),
]


@pytest.mark.parametrize("name,error,text,call", BAD, ids=[c[0] for c in BAD])
async def test_bad_input_over_time_raises_a_clear_error_and_stores_nothing(
    container: Container, story: Story, name: str, error: type[DomainError], text: str,
    call: Callable[..., Awaitable[object]],
) -> None:
    head = head_position(container.store)
    with pytest.raises(error) as raised:
        await call(container.service, story)
    assert text in raised.value.message
    assert head_position(container.store) == head


async def test_repeating_a_reaction_or_a_pin_stores_nothing(container: Container,
                                                           story: Story) -> None:
    s = container.service
    assert await s.set_reaction("bob", story.chat, story.m, "👍", True) is not None
    assert await s.set_pin("alice", story.chat, story.m, True) is not None
    head = head_position(container.store)
    assert await s.set_reaction("bob", story.chat, story.m, "👍", True) is None
    assert await s.set_reaction("bob", story.chat, story.m, "🎉", False) is None
    assert await s.set_pin("alice", story.chat, story.m, True) is None
    assert await s.delete_message("alice", story.chat, story.deleted) is None
    assert head_position(container.store) == head


async def test_history_threads_pins_edits_and_the_chat_list(container: Container) -> None:
    s = container.service
    for user in ("alice", "bob", "carol"):
        await s.ensure_user(user)
    chat = (await s.create_chat("alice", "t", ["bob", "carol"])).id
    root = (await s.send_message("alice", chat, "root @bob")).message
    assert root.mentions == ["bob"]
    quoted = (await s.send_message("carol", chat, "quoting", reply_to=root.id)).message
    replies = [(await s.send_message(u, chat, f"r{i} @carol", thread_id=root.id)).message
               for i, u in enumerate(["bob", "alice", "bob"])]
    e1 = await s.edit_message("alice", chat, root.id, "root v2")
    e2 = await s.edit_message("alice", chat, root.id, "root v3 @carol")
    await s.set_reaction("bob", chat, root.id, "👍", True)
    await s.set_reaction("carol", chat, root.id, "👍", True)
    await s.set_reaction("carol", chat, root.id, "🎉", True)
    await s.set_reaction("carol", chat, root.id, "🎉", False)
    await s.set_reaction("bob", chat, root.id, "🎉", True)
    await s.set_pin("alice", chat, quoted.id, True)
    await s.set_pin("alice", chat, root.id, True)

    main, next_before = await s.history("bob", chat)
    assert [m.id for m in main] == [root.id, quoted.id] and next_before is None
    r = main[0]
    assert (r.content, r.edited_at is not None, r.deleted, r.mentions) == (
        "root v3 @carol", True, False, ["carol"])
    assert r.reactions == {"👍": ["bob", "carol"], "🎉": ["bob"]}
    assert (r.thread_reply_count, r.thread_last_reply_at, r.pinned) == (
        3, replies[-1].created_at, True)
    assert (main[1].reply_to, main[1].thread_id, main[1].thread_reply_count) == (root.id, None, 0)

    thread, older = await s.history("bob", chat, thread_id=root.id, limit=2)
    assert [m.id for m in thread] == [replies[1].id, replies[2].id]
    assert older == replies[1].seq and all(m.thread_id == root.id for m in thread)
    first, older = await s.history("bob", chat, thread_id=root.id, before=older)
    assert [m.id for m in first] == [replies[0].id] and older is None

    pins = await s.pins("carol", chat)
    assert [m.id for m in pins] == [root.id, quoted.id]  # latest pin first

    edits = await s.edits("carol", chat, root.id)
    assert [(v.content, v.seq) for v in edits] == [
        ("root @bob", root.seq), ("root v2", e1), ("root v3 @carol", e2)]
    assert edits[0].edited_at == root.created_at

    # The chat list follows the main timeline; carol is mentioned in the three thread
    # replies and in the edited root, bob in none any more.
    lists = {u: {c.id: c for c in await s.chats_of(u)}[chat] for u in ("bob", "carol")}
    assert lists["carol"].last_message is not None
    assert lists["carol"].last_message.id == quoted.id
    assert (lists["bob"].unread_count, lists["carol"].unread_count) == (2, 1)
    assert (lists["bob"].unread_mentions, lists["carol"].unread_mentions) == (0, 4)
    await s.mark_read("carol", chat, replies[1].id)  # read up to the second reply
    carol = {c.id: c for c in await s.chats_of("carol")}[chat]
    assert carol.unread_mentions == 1


async def test_a_deleted_messages_content_is_in_no_read_model(container: Container) -> None:
    s = container.service
    for user in ("alice", "bob"):
        await s.ensure_user(user)
    chat = (await s.create_chat("alice", "t", ["bob"])).id
    m = (await s.send_message("alice", chat, "SECRET-ONE @bob")).message
    await s.edit_message("alice", chat, m.id, "SECRET-TWO @bob")
    await s.set_reaction("bob", chat, m.id, "👀", True)
    await s.delete_message("alice", chat, m.id)
    # Sent, edited and deleted within one projection batch too.
    m2 = (await s.send_message("alice", chat, "SECRET-THREE", wait=False)).message
    await s.edit_message("alice", chat, m2.id, "SECRET-FOUR", wait=False)
    await s.delete_message("alice", chat, m2.id)
    await s.sync()
    dump = repr(dump_read_models(container))
    assert "SECRET" not in dump
    [view] = [v for v in (await s.history("bob", chat))[0] if v.id == m.id]
    assert (view.content, view.deleted, view.mentions, view.seq) == (None, True, [], m.seq)
    assert [v.content for v in await s.edits("bob", chat, m.id)] == [None, None]
    assert [v.content for v in await s.edits("bob", chat, m2.id)] == [None, None]
    [entry] = await s.chats_of("bob")
    assert entry.last_message is not None and entry.last_message.content is None
    assert entry.unread_mentions == 0
    feed = await s.feed("bob", 0, 1000)
    assert "SECRET" not in repr(feed)
    assert [f.type for f in feed if f.data.get("messageId", f.data.get("id")) == m.id] == [
        "new-message", "message-edited", "reaction-added", "message-deleted"]
