"""The stored-event format does not change: msgspec encodes exactly the bytes of
eventsourcing's JSONTranscoder, and the projections' decoders read them."""

from decimal import Decimal
from uuid import uuid4

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from eventsourcing.utils import get_topic

from application.views import iso
from domain.chat import Chat
from domain.message import Message
from domain.presence import Connection, Node
from infrastructure.stored_events import SCHEMAS, decode
from infrastructure.transcoder import MsgspecTranscoder


def transcoders() -> tuple[JSONTranscoder, MsgspecTranscoder]:
    old, new = JSONTranscoder(), MsgspecTranscoder()
    for transcoder in (old, new):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
    return old, new


def domain_events() -> list[object]:
    chat = Chat.start("tëam ☃", ["bob", "carol"], "alice")
    chat.add_member("dave", "alice")
    chat.remove_member("carol", "alice")
    message = Message(chat_id=chat.id, sender_id="alice", content='hé "x"\n',
                      client_message_id="c1")
    message.deliver_to("bob")
    message.read_by_user("dave")
    connection = Connection(user_id="bob", node_id="n1")
    connection.close()
    node = Node(node_id="n1", lease_seconds=30.0)
    node.heartbeat(30.0)
    node.restart(15.0)
    node.stop()
    return [*chat.pending_events, *message.pending_events, *connection.pending_events,
            *node.pending_events]


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
    rows = [(i, event.originator_id.hex, get_topic(type(event)),  # type: ignore[attr-defined]
             old.encode(state_of(event))) for i, event in enumerate(events, 1)]
    assert {type(e) for e in events} == set(SCHEMAS)
    for event, change in zip(events, decode(rows), strict=True):
        assert change.originator_id == str(event.originator_id)  # type: ignore[attr-defined]
        assert change.at == iso(event.timestamp)  # type: ignore[attr-defined]
        assert change.timestamp == event.timestamp  # type: ignore[attr-defined]
