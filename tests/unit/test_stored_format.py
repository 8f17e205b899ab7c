"""The stored-event format does not change: msgspec encodes exactly the bytes of
eventsourcing's JSONTranscoder, and the projections' decoders read them."""

from decimal import Decimal
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from eventsourcing.utils import get_topic

from application.views import iso
from domain.chat import Chat
from domain.message import Message
from domain.presence import Connection, Node
from domain.receipts import Receipts
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
    message = Message(chat_id=chat.id, sender_id="alice", content='hé "x"\n',
                      client_message_id="c1")
    message._delivered("bob")  # per-message receipts as releases before issue 12 stored them
    message._read("dave")
    receipts = Receipts(chat_id=chat.id, user_id="bob")
    receipts.deliver(message.id, "alice", 3, 2)
    receipts.read(message.id, "alice", 3, 2)
    connection = Connection(user_id="bob", node_id="n1")
    connection.close()
    node = Node(node_id="n1")
    node.restart()
    node.stop()
    return [*chat.pending_events, *message.pending_events, *receipts.pending_events[1:],
            *connection.pending_events, *node.pending_events]


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
