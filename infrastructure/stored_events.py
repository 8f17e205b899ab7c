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
from domain.reactions import Reactions
from domain.receipts import Receipts
from domain.report import Report
from domain.user import User
from infrastructure.sealing import Keyring


class Tagged(msgspec.Struct):
    """A value eventsourcing's transcoder wrapped: a UUID's hex or a datetime's ISO text."""

    data: str = msgspec.field(name="_data_")


class SealedTag(msgspec.Struct):
    """A field sealed with its author's key (infrastructure/sealing.py): [author, blob]."""

    data: tuple[str, str] = msgspec.field(name="_data_")


# A personal field: plaintext (stored before sealing), sealed, or None (shredded in place);
# after `read_changes` it is the text, or None when erased.
Personal = str | SealedTag | None


class Bare(msgspec.Struct):
    timestamp: Tagged


class Sent(Bare):
    chat_id: Tagged
    sender_id: str
    content: Personal
    client_message_id: str | None
    reply_to: Tagged | None = None  # v1 (before issue 16): no replies, threads, mentions
    thread_id: Tagged | None = None
    mentions: list[str] | None = None


class Edited(Bare):
    chat_id: Tagged
    seq: int
    content: Personal
    mentions: list[str]


class Expired(Bare):
    chat_id: Tagged
    seq: int


class UserErased(Bare):
    user_id: str


class ByOnMessage(Bare):
    """Message.Deleted, Message.Pinned, Message.Unpinned."""

    chat_id: Tagged
    seq: int
    by: str


class Reaction(Bare):
    chat_id: Tagged
    message_id: Tagged
    user_id: str
    emoji: str


class Receipt(Bare):
    user_id: str


class ChatCreated(Bare):
    title: str
    member_ids: list[str]
    created_by: str
    kind: str = "group"  # Chat.Created v1 (before roles): a group
    description: str = ""


class MemberAdded(Bare):
    user_id: str
    added_by: str


class MemberRemoved(Bare):
    user_id: str
    removed_by: str


class ChatUpdated(Bare):
    title: str
    description: str
    by: str


class ByUser(Bare):
    """AdminAdded, AdminRemoved, OwnerChanged, Unbanned, Unmuted."""

    user_id: str
    by: str


class Banned(ByUser):
    reason: str


class Muted(ByUser):
    until: str | None


class InviteAccepted(Bare):
    code: str
    user_id: str


class ReportFiled(Bare):
    chat_id: Tagged
    message_id: Tagged
    reporter_id: str
    reason: str


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


class Privacy(Bare):
    user_id: str
    read_receipts: bool
    last_seen: bool


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
    Chat.Updated: ChatUpdated,
    Chat.AdminAdded: ByUser,
    Chat.AdminRemoved: ByUser,
    Chat.OwnerChanged: ByUser,
    Chat.Banned: Banned,
    Chat.Unbanned: ByUser,
    Chat.Muted: Muted,
    Chat.Unmuted: ByUser,
    Chat.InviteAccepted: InviteAccepted,
    Report.Filed: ReportFiled,
    Message.Edited: Edited,
    Message.Deleted: ByOnMessage,
    Message.Pinned: ByOnMessage,
    Message.Unpinned: ByOnMessage,
    Reactions.Added: Reaction,
    Reactions.Removed: Reaction,
    User.PrivacyChanged: Privacy,
    Message.Expired: Expired,
    User.Erased: UserErased,
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
    event: Any = None  # its typed event, made once for every projection (`typed`)

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


def open_personal(keyring: Keyring | None, changes: list[Change]) -> list[Change]:
    """Sealed fields opened with their author's key (None: erased), in place."""
    sealed = [c.state for c in changes if c.topic in _PERSONAL
              and isinstance(c.state.content, SealedTag)]
    if not sealed:
        return changes
    if keyring is None:
        raise RuntimeError("sealed events need the store's keyring")
    opened = keyring.open_many([s.content.data for s in sealed])
    for state, text in zip(sealed, opened, strict=True):
        state.content = text
    return changes


def read_changes(store: Application[UUID], after: int, limit: int) -> list[Change]:
    """Up to `limit` stored events after position `after`, in store order, their
    personal fields opened."""
    return open_personal(getattr(store, "keyring", None), _read_rows(store, after, limit))


def _read_rows(store: Application[UUID], after: int, limit: int) -> list[Change]:
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
CHAT_UPDATED, ADMIN_ADDED, ADMIN_REMOVED, OWNER_CHANGED = (
    get_topic(c) for c in (Chat.Updated, Chat.AdminAdded, Chat.AdminRemoved, Chat.OwnerChanged))
BANNED, UNBANNED, MUTED, UNMUTED, INVITE_ACCEPTED = (
    get_topic(c) for c in (Chat.Banned, Chat.Unbanned, Chat.Muted, Chat.Unmuted,
                           Chat.InviteAccepted))
REPORT_FILED = get_topic(Report.Filed)
EDITED, DELETED, PINNED, UNPINNED = (get_topic(c) for c in (Message.Edited, Message.Deleted,
                                                            Message.Pinned, Message.Unpinned))
REACTION_ADDED, REACTION_REMOVED = get_topic(Reactions.Added), get_topic(Reactions.Removed)
PRIVACY_CHANGED = get_topic(User.PrivacyChanged)
EXPIRED, USER_ERASED = get_topic(Message.Expired), get_topic(User.Erased)
_PERSONAL = frozenset({SENT, EDITED})


def _sent(c: Change) -> ev.ProjectedEvent:
    s = c.state
    return ev.MessageSent(position=c.position, at=c.at, message_id=c.originator_id,
                          chat_id=uuid_text(s.chat_id.data), sender_id=s.sender_id,
                          content=s.content, erased=s.content is None,
                          client_message_id=s.client_message_id,
                          reply_to=uuid_text(s.reply_to.data) if s.reply_to else None,
                          thread_id=uuid_text(s.thread_id.data) if s.thread_id else None,
                          mentions=list(s.mentions or ()))


def _pin(pinned: bool) -> Callable[[Change], ev.ProjectedEvent]:
    def convert(c: Change) -> ev.ProjectedEvent:
        s = c.state
        return ev.PinChanged(position=c.position, at=c.at, message_id=c.originator_id,
                             chat_id=uuid_text(s.chat_id.data), seq=s.seq, by=s.by,
                             pinned=pinned)
    return convert


def _reaction(added: bool) -> Callable[[Change], ev.ProjectedEvent]:
    def convert(c: Change) -> ev.ProjectedEvent:
        s = c.state
        return ev.ReactionChanged(position=c.position, at=c.at,
                                  message_id=uuid_text(s.message_id.data),
                                  chat_id=uuid_text(s.chat_id.data), user_id=s.user_id,
                                  emoji=s.emoji, added=added)
    return convert


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


def _role(change: str) -> Callable[[Change], ev.ProjectedEvent]:
    def convert(c: Change) -> ev.ProjectedEvent:
        return ev.RoleChanged(position=c.position, at=c.at, chat_id=c.originator_id,
                              change=change,  # type: ignore[arg-type]
                              user_id=c.state.user_id, by=c.state.by)
    return convert


# Stored topic -> the typed event the projections take (application/projections/events.py).
TYPED: dict[str, Callable[[Change], ev.ProjectedEvent]] = {
    SENT: _sent,
    DELIVERED_UPTO: _mark("delivered"),
    READ_UPTO: _mark("read"),
    DELIVERED: _receipt("delivered"),
    READ: _receipt("read"),
    CHAT_CREATED: lambda c: ev.ChatCreated(
        position=c.position, at=c.at, chat_id=c.originator_id, title=c.state.title,
        member_ids=list(c.state.member_ids), created_by=c.state.created_by,
        kind=c.state.kind, description=c.state.description),
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
    CHAT_UPDATED: lambda c: ev.ChatUpdated(
        position=c.position, at=c.at, chat_id=c.originator_id, title=c.state.title,
        description=c.state.description, by=c.state.by),
    ADMIN_ADDED: _role("admin-added"),
    ADMIN_REMOVED: _role("admin-removed"),
    OWNER_CHANGED: _role("owner"),
    BANNED: lambda c: ev.MemberBanned(
        position=c.position, at=c.at, chat_id=c.originator_id, user_id=c.state.user_id,
        by=c.state.by, reason=c.state.reason),
    UNBANNED: lambda c: ev.MemberUnbanned(
        position=c.position, at=c.at, chat_id=c.originator_id, user_id=c.state.user_id,
        by=c.state.by),
    MUTED: lambda c: ev.MemberMuted(
        position=c.position, at=c.at, chat_id=c.originator_id, user_id=c.state.user_id,
        by=c.state.by, until=c.state.until),
    UNMUTED: lambda c: ev.MemberUnmuted(
        position=c.position, at=c.at, chat_id=c.originator_id, user_id=c.state.user_id,
        by=c.state.by),
    INVITE_ACCEPTED: lambda c: ev.InviteAccepted(
        position=c.position, at=c.at, chat_id=c.originator_id, user_id=c.state.user_id,
        code=c.state.code),
    REPORT_FILED: lambda c: ev.MessageReported(
        position=c.position, at=c.at, report_id=c.originator_id,
        chat_id=uuid_text(c.state.chat_id.data), message_id=uuid_text(c.state.message_id.data),
        reporter_id=c.state.reporter_id, reason=c.state.reason),
    EDITED: lambda c: ev.MessageEdited(
        position=c.position, at=c.at, message_id=c.originator_id,
        chat_id=uuid_text(c.state.chat_id.data), seq=c.state.seq, content=c.state.content,
        mentions=list(c.state.mentions)),
    DELETED: lambda c: ev.MessageDeleted(
        position=c.position, at=c.at, message_id=c.originator_id,
        chat_id=uuid_text(c.state.chat_id.data), seq=c.state.seq, by=c.state.by),
    EXPIRED: lambda c: ev.MessageExpired(
        position=c.position, at=c.at, message_id=c.originator_id,
        chat_id=uuid_text(c.state.chat_id.data), seq=c.state.seq),
    USER_ERASED: lambda c: ev.UserErased(position=c.position, at=c.at,
                                         user_id=c.state.user_id),
    PINNED: _pin(True),
    UNPINNED: _pin(False),
    REACTION_ADDED: _reaction(True),
    REACTION_REMOVED: _reaction(False),
    PRIVACY_CHANGED: lambda c: ev.PrivacyChanged(
        position=c.position, at=c.at, user_id=c.state.user_id,
        read_receipts=c.state.read_receipts, last_seen=c.state.last_seen),
}


def typed(changes: list[Change], topics: frozenset[str] | None = None) -> list[ev.ProjectedEvent]:
    """The typed events of these changes (of `topics` only, if given), in order."""
    out = []
    for c in changes:
        if topics is not None and c.topic not in topics:
            continue
        event = c.event
        if event is None:
            convert = TYPED.get(c.topic)
            if convert is None:
                continue
            event = c.event = convert(c)
        out.append(event)
    return out
