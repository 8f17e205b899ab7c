"""Fifty concurrent senders: every send acked with a position, nothing lost or
duplicated, seq strictly increasing per chat."""

import asyncio

from infrastructure.eventstore import read_notifications
from interfaces.server import Container


async def test_fifty_concurrent_sends_all_acked_in_order(container: Container) -> None:
    s = container.service
    for user in ("alice", "bob"):
        await s.ensure_user(user)
    chats = [await s.create_chat("alice", f"c{i}", ["bob"]) for i in range(2)]

    async def send(i: int) -> tuple[str, int, str]:
        chat = chats[i % 2]
        result = await s.send_message("alice" if i % 3 else "bob", chat.id, f"msg {i}", f"k{i}")
        return chat.id, result.message.seq, result.message.id

    acks = await asyncio.gather(*(send(i) for i in range(50)))

    positions = [seq for _, seq, _ in acks]
    assert len(set(positions)) == 50  # every ack has its own position
    assert len({message_id for _, _, message_id in acks}) == 50
    assert container.writer.batches < container.writer.commands  # sends were grouped

    stored = read_notifications(container.store, 0, 1000)
    sent = [n for n in stored if n.topic.endswith("Message.Sent")]
    assert sorted(n.id for n in sent) == sorted(positions)  # nothing lost, nothing extra

    for chat in chats:
        page, _ = await s.history("alice", chat.id, limit=100)
        seqs = [m.seq for m in page]
        assert seqs == sorted(set(seqs))  # strictly increasing
        assert sorted(seqs) == sorted(seq for cid, seq, _ in acks if cid == chat.id)
