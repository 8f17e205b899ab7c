"""Stored events as the projections read them: straight from the store's table,
decoded with msgspec into one typed record per topic.

eventsourcing's mapper rebuilds a full domain event per row (a JSON object hook
per dict, UUID and datetime objects); the projections need a few strings. This
reads the same stored format (eventsourcing's JSONTranscoder: UUIDs as
`{"_type_": "uuid_hex", ...}`, datetimes as `{"_type_": "datetime_iso", ...}`),
so every existing store stays readable, and leaves topics no projection handles
undecoded."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row

from application.projections import events as ev
from domain.chat import Chat
from domain.message import Message
from domain.presence import Connection, Node
from domain.receipts import Receipts


class Tagged(msgspec.Struct):
    """A value eventsourcing's transcoder wrapped: a UUID's hex or a datetime's ISO text."""

    data: str = msgspec.field(name="_data_")


class Bare(msgspec.Struct):
    timestamp: Tagged


class Sent(Bare):
    chat_id: Tagged
    sender_id: str
    content: str
    client_message_id: str | None


class Receipt(Bare):
    user_id: str


class ChatCreated(Bare):
    title: str
    member_ids: list[str]
    created_by: str


class MemberAdded(Bare):
    user_id: str
    added_by: str


class MemberRemoved(Bare):
    user_id: str
    removed_by: str


class ConnectionOpened(Bare):
    user_id: str
    node_id: str


class NodeStarted(Bare):
    node_id: str  # v1 also stored lease_seconds: ignored, leases are rows now


class Mark(Bare):
    """A receipt as a high-water mark (Receipts.Delivered / Receipts.Read): it names its
    chat, message, sender and seq, so applying it needs no lookup of the message."""

    chat_id: Tagged
    user_id: str
    message_id: Tagged
    sender_id: str
    seq: int
    members: int


# The stored state of every event type a projection handles. Node.Heartbeat (stored
# by releases before leases were rows) is not among them: old heartbeats are ignored.
SCHEMAS: dict[type, type[Bare]] = {
    Message.Sent: Sent,
    Message.Delivered: Receipt,  # per-message receipts of earlier releases still count
    Message.Read: Receipt,
    Receipts.Delivered: Mark,
    Receipts.Read: Mark,
    Chat.Created: ChatCreated,
    Chat.MemberAdded: MemberAdded,
    Chat.MemberRemoved: MemberRemoved,
    Connection.Opened: ConnectionOpened,
    Connection.Closed: Bare,
    Node.Started: NodeStarted,
    Node.Restarted: Bare,
    Node.Stopped: Bare,
}
DECODERS = {get_topic(cls): msgspec.json.Decoder(schema) for cls, schema in SCHEMAS.items()}


class Change(msgspec.Struct):
    """One stored event: its position, aggregate id (UUID text), topic, time as
    clients see it (`iso()`), and its decoded state (None for unhandled topics)."""

    position: int
    originator_id: str
    topic: str
    at: str
    state: Any

    @property
    def timestamp(self) -> datetime:
        return datetime.fromisoformat(self.state.timestamp.data)


def uuid_text(hex_or_text: str) -> str:
    """str(UUID(x)) for the 32-digit hex the store keeps, without building a UUID."""
    h = hex_or_text
    if len(h) == 32:
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if len(h) == 36 and h[8] == "-" and h.islower():  # PostgreSQL's uuid::text already
        return h
    return str(UUID(h))


def iso_text(isoformat: str) -> str:
    """`application.views.iso` of the datetime whose isoformat() this is: its own
    fields to the millisecond, then Z (no parsing, no strftime)."""
    if len(isoformat) >= 19 and isoformat[10] == "T":
        millis = isoformat[20:23] if len(isoformat) > 19 and isoformat[19] == "." else "000"
        return f"{isoformat[:19]}.{millis}Z"
    ts = datetime.fromisoformat(isoformat)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def decode(rows: Iterable[tuple[int, str, str, bytes]]) -> list[Change]:
    """Rows of (position, originator id, topic, state) -> changes, in order."""
    changes = []
    for position, originator_id, topic, state in rows:
        decoder = DECODERS.get(topic)
        if decoder is None:
            changes.append(Change(position, "", topic, "", None))
            continue
        data = decoder.decode(state)
        changes.append(Change(position, uuid_text(originator_id), topic,
                              iso_text(data.timestamp.data), data))
    return changes


def read_changes(store: Application[UUID], after: int, limit: int) -> list[Change]:
    """Up to `limit` stored events after position `after`, in store order."""
    recorder: Any = store.recorder
    table = recorder.events_table_name
    datastore = recorder.datastore
    if hasattr(datastore, "schema"):  # PostgreSQL
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(
                f'SELECT notification_id, originator_id::text, topic, state'
                f' FROM "{datastore.schema}"."{table}"'
                " WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                (after, limit), prepare=True,
            )
            return decode(cur.fetchall())
    with datastore.transaction(commit=False) as c:
        c.execute(f"SELECT rowid, originator_id, topic, state FROM {table}"
                  " WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit))
        return decode(c.fetchall())



SENT, DELIVERED, READ = (get_topic(c) for c in (Message.Sent, Message.Delivered, Message.Read))
DELIVERED_UPTO, READ_UPTO = get_topic(Receipts.Delivered), get_topic(Receipts.Read)
CHAT_CREATED, MEMBER_ADDED, MEMBER_REMOVED = (
    get_topic(c) for c in (Chat.Created, Chat.MemberAdded, Chat.MemberRemoved)
)
CONNECTION_OPENED, CONNECTION_CLOSED = (get_topic(c) for c in (Connection.Opened,
                                                               Connection.Closed))
NODE_STARTED, NODE_RESTARTED, NODE_STOPPED = (get_topic(c) for c in (Node.Started,
                                                                     Node.Restarted,
                                                                     Node.Stopped))


def _sent(c: Change) -> ev.ProjectedEvent:
    s = c.state
    return ev.MessageSent(position=c.position, at=c.at, message_id=c.originator_id,
                          chat_id=uuid_text(s.chat_id.data), sender_id=s.sender_id,
                          content=s.content, client_message_id=s.client_message_id)


def _mark(kind: ev.Kind) -> Callable[[Change], ev.ProjectedEvent]:
    def convert(c: Change) -> ev.ProjectedEvent:
        s = c.state
        return ev.MarkMoved(position=c.position, at=c.at, kind=kind,
                            chat_id=uuid_text(s.chat_id.data), user_id=s.user_id,
                            message_id=uuid_text(s.message_id.data), sender_id=s.sender_id,
                            seq=s.seq, members=s.members)
    return convert


def _receipt(kind: ev.Kind) -> Callable[[Change], ev.ProjectedEvent]:
    def convert(c: Change) -> ev.ProjectedEvent:
        return ev.MessageReceipt(position=c.position, at=c.at, kind=kind,
                                 message_id=c.originator_id, user_id=c.state.user_id)
    return convert


def _node_gone(c: Change) -> ev.ProjectedEvent:
    return ev.NodeGone(position=c.position, at=c.at, node_key=c.originator_id)


# Stored topic -> the typed event the projections take (application/projections/events.py).
TYPED: dict[str, Callable[[Change], ev.ProjectedEvent]] = {
    SENT: _sent,
    DELIVERED_UPTO: _mark("delivered"),
    READ_UPTO: _mark("read"),
    DELIVERED: _receipt("delivered"),
    READ: _receipt("read"),
    CHAT_CREATED: lambda c: ev.ChatCreated(
        position=c.position, at=c.at, chat_id=c.originator_id, title=c.state.title,
        member_ids=list(c.state.member_ids), created_by=c.state.created_by),
    MEMBER_ADDED: lambda c: ev.MemberAdded(
        position=c.position, at=c.at, chat_id=c.originator_id, user_id=c.state.user_id,
        added_by=c.state.added_by),
    MEMBER_REMOVED: lambda c: ev.MemberRemoved(
        position=c.position, at=c.at, chat_id=c.originator_id, user_id=c.state.user_id,
        removed_by=c.state.removed_by),
    CONNECTION_OPENED: lambda c: ev.ConnectionOpened(
        position=c.position, at=c.at, connection_id=c.originator_id,
        user_id=c.state.user_id, node_id=c.state.node_id),
    CONNECTION_CLOSED: lambda c: ev.ConnectionClosed(
        position=c.position, at=c.at, connection_id=c.originator_id),
    NODE_STARTED: lambda c: ev.NodeStarted(
        position=c.position, at=c.at, node_key=c.originator_id, node_id=c.state.node_id),
    NODE_RESTARTED: _node_gone,
    NODE_STOPPED: _node_gone,
}


def typed(changes: list[Change], topics: frozenset[str] | None = None) -> list[ev.ProjectedEvent]:
    """The typed events of these changes (of `topics` only, if given), in order."""
    out = []
    for c in changes:
        convert = TYPED.get(c.topic)
        if convert is not None and (topics is None or c.topic in topics):
            out.append(convert(c))
    return out
