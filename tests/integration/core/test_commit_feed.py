"""Delivery from the commit, on each backend: the rows the writer's commit gives the
gateway are the very rows the read models then hold in rm_feed (what recovery and
GET /api/events serve), and only events whose rows need no other read-model state
than a reader's privacy go that way."""

from application.delivery import Committed
from infrastructure.eventstore import head_position
from interfaces.server import Container


async def told_of_commits(container: Container) -> tuple[list[Committed], str]:
    """The batches the writer commits from here on, and a chat of alice's with bob."""
    batches: list[Committed] = []
    container.commit_listeners.append(batches.append)
    for user in ("alice", "bob"):
        await container.service.ensure_user(user)
    chat = await container.service.create_chat("alice", "t", ["bob"])
    return batches, chat.id


async def test_rows_from_the_commit_are_the_rows_the_read_models_store(
        container: Container) -> None:
    s = container.service
    batches, chat_id = await told_of_commits(container)
    created = len(batches)
    m = (await s.send_message("alice", chat_id, "hello ✓ \"quoted\"", "c-1")).message.id
    sent = len(batches)
    await s.send_message("bob", chat_id, "in a thread", thread_id=m)
    await s.edit_message("alice", chat_id, m, "hello again")
    await s.set_reaction("bob", chat_id, m, "👍", True)
    await s.set_reaction("bob", chat_id, m, "👍", False)
    await s.set_pin("alice", chat_id, m, True)
    await s.set_pin("alice", chat_id, m, False)
    await s.mark_delivered("bob", chat_id, m)
    delivered = len(batches)
    await s.mark_read("bob", chat_id, m)
    read = len(batches)
    gone = (await s.send_message("alice", chat_id, "to be deleted")).message
    await s.delete_message("alice", chat_id, gone.id)
    await s.sync()

    direct = [b for b in batches if b.rows is not None]
    assert batches[created - 1].rows is None  # the chat's creation: chat-added to each member
    assert batches[sent - 1].rows is not None
    assert batches[delivered - 1].rows is not None
    assert batches[read - 1].rows is not None  # the reader's privacy known: from the commit
    types = {r[1] for b in direct for r in b.rows or ()}
    assert types == {"new-message", "message-edited", "reaction-added", "reaction-removed",
                     "message-pinned", "message-unpinned", "message-delivered",
                     "message-read", "message-deleted"}
    for batch in direct:
        if batch.first <= gone.seq <= batch.last:
            continue  # the delete took its content out of the stored row since: not live
        stored = container.read_models.feed_rows(None, batch.first - 1, batch.last)
        assert [tuple(r) for r in stored] == [tuple(r) for r in batch.rows or ()], batch


async def test_every_committed_position_is_told_once_in_order(container: Container) -> None:
    s = container.service
    batches, chat_id = await told_of_commits(container)
    for i in range(20):
        await s.send_message("alice", chat_id, f"m{i}", wait=False)
    await s.sync()
    positions = [p for b in batches for p in range(b.first, b.last + 1)]
    assert positions == sorted(set(positions))
    assert positions[-1] == head_position(container.store)


async def test_a_read_goes_from_the_commit_with_its_readers_privacy(
        container: Container) -> None:
    batches: list[Committed] = []
    s = container.service
    for user in ("alice", "bob", "carol"):
        await s.ensure_user(user)
    chat = await s.create_chat("alice", "t", ["bob", "carol"])
    m = (await s.send_message("alice", chat.id, "hello")).message.id
    await s.change_privacy("carol", read_receipts=False)
    await s.sync()
    container.commit_listeners.append(batches.append)
    await s.mark_read("bob", chat.id, m)  # tells the room
    await s.mark_read("carol", chat.id, m)  # hidden: only carol's own sockets hear it
    await s.change_privacy("bob", read_receipts=False)  # this node's own change...
    m2 = (await s.send_message("alice", chat.id, "again")).message.id
    await s.mark_read("bob", chat.id, m2, wait=False)  # ...counts before it is projected
    await s.sync()

    reads = [b for b in batches if b.rows and b.rows[0][1] == "message-read"]
    assert len(reads) == 3
    told = [(r[3], r[4]) for b in reads for r in b.rows or ()]
    assert [user for user, _ in told] == [None, "carol", "bob"]
    for batch in reads:
        stored = container.read_models.feed_rows(None, batch.first - 1, batch.last)
        assert [tuple(r) for r in stored] == [tuple(r) for r in batch.rows or ()], batch
