"""Messages over time on Kafka (issue 16): the events of edits, deletes, reactions,
pins, replies and threads reach the topic through the real relay and a real broker,
keyed by their chat, in store order per chat, with the shape of every record."""

import asyncio
from collections import defaultdict
from pathlib import Path

from infrastructure.eventstore import read_notifications
from tests.integration.kafka.broker import TansuBroker, create_topic, read_topic
from tests.integration.kafka.helpers import (
    TOPIC,
    assert_store_order_per_chat,
    by_chat,
    first_occurrences,
    relay_of,
    running_eschat,
    wait_relayed,
)

NEW_TYPES = {"Message.Edited", "Message.Deleted", "Message.Pinned", "Message.Unpinned",
             "Reactions.Started", "Reactions.Added", "Reactions.Removed"}


async def test_edits_deletes_reactions_pins_and_threads_reach_the_topic_in_store_order(
    kafka_broker: TansuBroker, database_url: str, tmp_path: Path
) -> None:
    await create_topic(kafka_broker.bootstrap, TOPIC, partitions=3)
    async with running_eschat(database_url, tmp_path, kafka_bootstrap=kafka_broker.bootstrap,
                              kafka_topic=TOPIC) as eschat:
        s = eschat.service
        for user in ("alice", "bob", "carol"):
            await s.ensure_user(user)
        chats = [(await s.create_chat("alice", f"c{i}", ["bob", "carol"])).id for i in range(4)]
        changes: dict[str, list[int]] = defaultdict(list)  # chat -> positions, in order

        async def over_time(chat: str, i: int) -> None:
            """One chat's story; the chats' stories run at once, so their events
            interleave in the store."""
            root = (await s.send_message("alice", chat, f"root {i} @bob", wait=False)).message
            quote = (await s.send_message("bob", chat, "quote", reply_to=root.id,
                                          wait=False)).message
            thread = [(await s.send_message(u, chat, f"t{n}", thread_id=root.id, wait=False)
                       ).message for n, u in enumerate(("bob", "carol", "bob"))]
            steps = [
                s.edit_message("alice", chat, root.id, f"root {i} v2", wait=False),
                s.edit_message("alice", chat, root.id, f"root {i} v3 @carol", wait=False),
                s.set_reaction("bob", chat, root.id, "👍", True, wait=False),
                s.set_reaction("carol", chat, root.id, "🎉", True, wait=False),
                s.set_reaction("bob", chat, root.id, "👍", False, wait=False),
                s.set_pin("alice", chat, root.id, True, wait=False),
                s.set_pin("alice", chat, root.id, False, wait=False),
                s.delete_message("alice", chat, quote.id, wait=False),
                s.delete_message("bob", chat, thread[2].id, wait=False),
            ]
            changes[chat] += [root.seq, quote.seq, *(m.seq for m in thread)]
            for step in steps:
                seq = await step
                assert seq is not None
                changes[chat].append(seq)

        await asyncio.gather(*(over_time(chat, i) for i, chat in enumerate(chats)))
        head = await wait_relayed(relay_of(eschat), eschat)
        stored = read_notifications(eschat.store, 0, 10_000)
    records = await read_topic(kafka_broker.bootstrap, TOPIC, until=lambda rs: len(rs) >= head)

    # Every stored event once at least, each chat's in store order, on one partition.
    assert sorted(set(r.position for r in records)) == [n.id for n in stored]
    assert_store_order_per_chat(records)
    per_chat = by_chat(records)
    for chat in chats:
        positions = first_occurrences(per_chat[chat])
        # The chat's messages and changes, in the order they were stored, among its events.
        assert [p for p in positions if p in changes[chat]] == sorted(changes[chat])
        assert changes[chat] == sorted(changes[chat])  # each step stored after the one before
        mine = [r for r in records if r.value["chatId"] == chat]
        assert {r.key for r in mine} == {chat.encode()}
        assert len({r.partition for r in mine}) == 1
        types = [r.value["type"] for r in mine]
        assert set(types) >= NEW_TYPES, types
    # Interleaved: the chats' stories overlapped in the store.
    spans = sorted((min(c), max(c)) for c in changes.values())
    assert any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False))

    # The shape of each new record: its chat named, the fields of the event.
    by_position = {r.position: r for r in records}
    chat = chats[0]
    kinds: dict[str, list[dict[str, object]]] = defaultdict(list)
    for p in changes[chat]:
        record = by_position[p]
        assert record.headers["type"] == record.value["type"].encode()
        kinds[record.value["type"]].append(record.value["data"])
    root_id = kinds["Message.Sent"][0]["id"]
    assert [d["threadId"] for d in kinds["Message.Sent"]] == [None, None, root_id, root_id,
                                                              root_id]
    assert kinds["Message.Sent"][1]["replyTo"] == root_id
    assert kinds["Message.Sent"][0]["mentions"] == ["bob"]
    assert [(d["id"], d["chatId"], d["content"], d["mentions"]) for d in kinds["Message.Edited"]
            ] == [(root_id, chat, "root 0 v2", []), (root_id, chat, "root 0 v3 @carol", ["carol"])]
    assert [(d["messageId"], d["userId"], d["emoji"]) for d in kinds["Reactions.Added"]] == [
        (root_id, "bob", "👍"), (root_id, "carol", "🎉")]
    assert [(d["userId"], d["emoji"]) for d in kinds["Reactions.Removed"]] == [("bob", "👍")]
    assert [(d["id"], d["by"]) for d in kinds["Message.Pinned"] + kinds["Message.Unpinned"]] == [
        (root_id, "alice"), (root_id, "alice")]
    assert [d["by"] for d in kinds["Message.Deleted"]] == ["alice", "bob"]
    assert all(d["chatId"] == chat for ds in kinds.values() for d in ds)
