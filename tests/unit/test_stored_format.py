"""The stored-event format does not change: msgspec encodes exactly the bytes of
eventsourcing's JSONTranscoder, and the projections' decoders read them."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from eventsourcing.utils import get_topic

from application.views import iso
from domain.chat import Chat
from domain.message import Message
from domain.presence import Connection, Node
from domain.reactions import Reactions
from domain.receipts import Receipts
from domain.report import Report
from domain.user import User
from infrastructure.stored_events import SCHEMAS, decode
from infrastructure.transcoder import MsgspecTranscoder


def transcoders() -> tuple[JSONTranscoder, MsgspecTranscoder]:
    old, new = JSONTranscoder(), MsgspecTranscoder()
    for transcoder in (old, new):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
    return old, new


def domain_events() -> list[Any]:
    chat = Chat.start("tëam ☃", ["bob", "carol"], "alice")
    chat.add_member("dave", "alice")
    chat.remove_member("carol", "alice")
    chat.update("alice", "new title", "about")
    chat.name_admin("bob", "alice")
    chat.remove_admin("bob", "alice")
    chat.hand_over("dave", "alice")
    chat.ban("erin", "dave", "spam")
    chat.unban("erin", "dave")
    chat.mute("bob", "dave", None, datetime.now(UTC))
    chat.unmute("bob", "dave")
    code = chat.create_invite("dave", 60, 1, datetime.now(UTC))
    chat.accept_invite(code, "frank", datetime.now(UTC))
    message = Message(chat_id=chat.id, sender_id="alice", content='hé "x"\n',
                      client_message_id="c1")
    message._delivered("bob")  # per-message receipts as releases before issue 12 stored them
    message._read("dave")
    reply = Message(chat_id=chat.id, sender_id="bob", content="@alice ok", client_message_id=None,
                    reply_to=message.id, thread_id=message.id, mentions=["alice"])
    reply.edit("bob", "@dave ok!", ["alice", "bob", "dave"], seq=4)
    reply.pin("dave", seq=4)
    reply.unpin("dave", seq=4)
    reply.delete("bob", by_admin=False, seq=4)
    reactions = Reactions(chat_id=chat.id, message_id=message.id, user_id="bob")
    reactions.add("👍🏽")
    reactions.remove("👍🏽")
    receipts = Receipts(chat_id=chat.id, user_id="bob")
    receipts.deliver(message.id, "alice", 3, 2)
    receipts.read(message.id, "alice", 3, 2)
    connection = Connection(user_id="bob", node_id="n1")
    connection.close()
    node = Node(node_id="n1")
    node.restart()
    node.stop()
    report = Report.file(chat.id, message.id, "bob", "rude")
    message.expire(seq=3)
    user = User.register("zed", None, "Zed", external=False)
    user.change_privacy(read_receipts=False)
    user.erase()
    handled = set(SCHEMAS)
    chat_events = [e for e in chat.pending_events if type(e) in handled]
    return [*chat_events, *message.pending_events, *reply.pending_events,
            *reactions.pending_events[1:], *receipts.pending_events[1:],
            *connection.pending_events, *node.pending_events, *report.pending_events,
            *user.pending_events[1:]]


def state_of(event: object) -> dict[str, object]:
    state = dict(vars(event))
    del state["originator_id"], state["originator_version"]
    return state


def test_msgspec_writes_the_bytes_json_transcoder_writes() -> None:
    old, new = transcoders()
    for event in domain_events():
        state = state_of(event)
        assert new.encode(state) == old.encode(state)
    nested = {"a": [Decimal("1.5"), (uuid4(),)], "b": {"c": 30.25, "d": None}}
    assert new.encode(nested) == old.encode(nested)


def test_projection_decoders_read_every_handled_event() -> None:
    old, _ = transcoders()
    events = domain_events()
    rows = [(i, event.originator_id.hex, get_topic(type(event)),
             old.encode(state_of(event))) for i, event in enumerate(events, 1)]
    assert {type(e) for e in events} == set(SCHEMAS)
    for event, change in zip(events, decode(rows), strict=True):
        assert change.originator_id == str(event.originator_id)
        assert change.at == iso(event.timestamp)
        assert change.timestamp == event.timestamp


def test_a_node_started_by_an_earlier_release_upcasts_without_its_lease() -> None:
    """Release 37b8bd6 stored Node.Started/Restarted v1 with `lease_seconds` (and
    Heartbeat events): they still load, as v2."""
    from eventsourcing.persistence import Mapper, StoredEvent

    _, transcoder = transcoders()
    mapper: Mapper[Any] = Mapper(transcoder=transcoder)
    node_id = Node.create_id("old-node")
    started = {"timestamp": Node(node_id="x").pending_events[0].timestamp,
               "originator_topic": get_topic(Node), "node_id": "old-node",
               "lease_seconds": 75.0}
    stored = [StoredEvent(node_id, 1, get_topic(Node.Started), transcoder.encode(started)),
              StoredEvent(node_id, 2, get_topic(Node.Heartbeat), transcoder.encode(
                  {"timestamp": started["timestamp"], "lease_seconds": 75.0})),
              StoredEvent(node_id, 3, get_topic(Node.Restarted), transcoder.encode(
                  {"timestamp": started["timestamp"], "lease_seconds": 75.0}))]
    events = [mapper.to_domain_event(s) for s in stored]
    assert "lease_seconds" not in vars(events[0]) and "lease_seconds" not in vars(events[2])
    node = None
    for event in events:
        node = event.mutate(node)
    assert isinstance(node, Node) and node.node_id == "old-node" and node.running
    assert node.version == 3


def test_a_message_sent_by_an_earlier_release_upcasts_with_no_reply_thread_or_mentions() -> None:
    """Message.Sent v1 (before issue 16) loads as v2: no reply, no thread, no mentions."""
    from eventsourcing.persistence import Mapper, StoredEvent

    _, transcoder = transcoders()
    mapper: Mapper[Any] = Mapper(transcoder=transcoder)
    message_id, chat_id = uuid4(), uuid4()
    sent = {"timestamp": datetime.now(UTC), "originator_topic": get_topic(Message),
            "chat_id": chat_id, "sender_id": "alice", "content": "hi @bob",
            "client_message_id": None}
    stored = StoredEvent(message_id, 1, get_topic(Message.Sent), transcoder.encode(sent))
    event = mapper.to_domain_event(stored)
    message = event.mutate(None)
    assert isinstance(message, Message)
    assert (message.reply_to, message.thread_id, message.mentions) == (None, None, [])
    assert (message.content, message.deleted, message.pinned) == ("hi @bob", False, False)
    [change] = decode([(1, message_id.hex, get_topic(Message.Sent), stored.state)])
    assert (change.state.reply_to, change.state.thread_id, change.state.mentions) == (
        None, None, None)
