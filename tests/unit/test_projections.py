"""The read side's rules, driven with typed events and no database: each
projection's operations are applied to plain dicts standing for its tables."""

import json
from collections.abc import Iterable, Mapping
from itertools import count

from application.feed import ServerEvent
from application.projections.chats import ChatsOps, ChatsProjection, UnreadRow, unread_count
from application.projections.events import (
    ChatCreated,
    ConnectionClosed,
    ConnectionOpened,
    MarkMoved,
    MemberAdded,
    MemberRemoved,
    MessageReceipt,
    MessageSent,
    NodeGone,
    NodeStarted,
    PrivacyChanged,
    ProjectedEvent,
)
from application.projections.feed_rows import FeedRows
from application.projections.history import HistoryProjection
from application.projections.presence import (
    AddNode,
    CloseConnection,
    CloseNode,
    LastSeen,
    LastSeenShown,
    OpenConnection,
    PresenceOp,
    PresenceProjection,
)

AT = "2026-01-01T00:00:00.000Z"


class Log:
    """Hands out positions, as the store does."""

    def __init__(self) -> None:
        self._next = count(1)
        self.messages: dict[str, tuple[str, int, str]] = {}  # id -> (chat, seq, sender)

    def sent(self, chat: str, sender: str, message_id: str | None = None) -> MessageSent:
        position = next(self._next)
        message_id = message_id or f"m{position}"
        self.messages[message_id] = (chat, position, sender)
        return MessageSent(position=position, at=AT, message_id=message_id, chat_id=chat,
                           sender_id=sender, content="hi", client_message_id=None)

    def read(self, user: str, message_id: str, members: int = 3) -> MarkMoved:
        chat, seq, sender = self.messages[message_id]
        return MarkMoved(position=next(self._next), at=AT, kind="read", chat_id=chat,
                         user_id=user, message_id=message_id, sender_id=sender, seq=seq,
                         members=members)

    def created(self, chat: str, *members: str) -> ChatCreated:
        return ChatCreated(position=next(self._next), at=AT, chat_id=chat, title="t",
                           member_ids=list(members), created_by=members[0])

    def added(self, chat: str, user: str) -> MemberAdded:
        return MemberAdded(position=next(self._next), at=AT, chat_id=chat, user_id=user,
                           added_by="alice")

    def removed(self, chat: str, user: str) -> MemberRemoved:
        return MemberRemoved(position=next(self._next), at=AT, chat_id=chat, user_id=user,
                             removed_by="alice")


class ChatTables:
    """rm_unread, rm_chats' totals, rm_members and rm_chat_messages as dicts; the
    StoredChats port."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], UnreadRow] = {}  # (user, chat) -> stored row
        self.chat_totals: dict[str, int] = {}
        self.members: set[tuple[str, str]] = set()
        self.messages: dict[str, tuple[str, int, str]] = {}
        self.rows_loaded = 0

    @property
    def unread(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(user, chat) -> (read mark, unread count), as the chat list shows them."""
        return {key: (row.read_seq, unread_count(row, self.chat_totals.get(key[1], 0)))
                for key, row in self.rows.items()}

    def unread_rows(self, keys: Iterable[tuple[str, str]]) -> Iterable[UnreadRow]:
        found = [self.rows[key] for key in keys if key in self.rows]
        self.rows_loaded += len(found)
        return found

    def totals(self, chat_ids: Iterable[str]) -> Mapping[str, int]:
        return {c: self.chat_totals[c] for c in chat_ids if c in self.chat_totals}

    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        return {m: self.messages[m][:2] for m in message_ids if m in self.messages}

    def sent_by_others_after(self, chat_id: str, seq: int, user_id: str) -> int:
        return sum(1 for c, s, sender in self.messages.values()
                   if c == chat_id and s > seq and sender != user_id)

    def apply(self, ops: ChatsOps) -> None:
        self.members -= set(ops.left)
        self.members |= set(ops.joined)
        for user, chat in ops.unread_gone:
            self.rows.pop((user, chat), None)
        for row in ops.unread:
            self.rows[(row.user_id, row.chat_id)] = row
        self.chat_totals.update(ops.totals)
        for m in ops.chat_messages:
            self.messages[m.message_id] = (m.chat_id, m.seq, m.sender_id)

    def unread_of(self, user: str, chat: str) -> int:
        return self.unread[(user, chat)][1]


def project_chats(tables: ChatTables, *batches: list[ProjectedEvent]) -> None:
    for batch in batches:
        tables.apply(ChatsProjection().project(batch, tables))


def test_unread_counts_messages_others_sent_since_the_read_mark() -> None:
    log, tables = Log(), ChatTables()
    created = log.created("c", "alice", "bob", "carol")
    m1, m2, m3 = log.sent("c", "alice"), log.sent("c", "bob"), log.sent("c", "alice")
    project_chats(tables, [created, m1, m2, m3])
    assert [tables.unread_of(u, "c") for u in ("alice", "bob", "carol")] == [1, 2, 3]

    project_chats(tables, [log.read("carol", m2.message_id)])  # reads m1 and m2
    assert tables.unread_of("carol", "c") == 1
    assert tables.unread[("carol", "c")][0] == m2.position


def test_a_read_mark_never_moves_back() -> None:
    log, tables = Log(), ChatTables()
    created = log.created("c", "alice", "bob")
    m1, m2 = log.sent("c", "alice"), log.sent("c", "alice")
    project_chats(tables, [created, m1, m2, log.read("bob", m2.message_id)])
    project_chats(tables, [log.read("bob", m1.message_id)])
    assert tables.unread[("bob", "c")] == (m2.position, 0)


def test_one_batch_and_many_batches_give_the_same_counts() -> None:
    log = Log()
    events: list[ProjectedEvent] = [log.created("c", "alice", "bob", "carol")]
    for i in range(30):
        events.append(log.sent("c", ["alice", "bob", "carol"][i % 3]))
        if i % 7 == 6:
            events.append(log.read("bob", events[-1].message_id))  # type: ignore[union-attr]
        if i == 12:
            events.append(log.removed("c", "carol"))
        if i == 20:
            events.append(log.added("c", "dave"))
    whole, split = ChatTables(), ChatTables()
    project_chats(whole, events)
    project_chats(split, *[[e] for e in events])
    assert whole.unread == split.unread and whole.members == split.members
    assert ("carol", "c") not in whole.unread  # removed: no row left
    assert whole.unread_of("dave", "c") == 9  # joined with nothing unread, then 9 more


def test_a_message_in_a_room_of_a_thousand_writes_two_rows_not_a_thousand() -> None:
    log, tables = Log(), ChatTables()
    members = [f"u{i}" for i in range(1000)]
    project_chats(tables, [log.created("c", *members)])
    tables.rows_loaded = 0
    ops = ChatsProjection().project([log.sent("c", "u0"), log.sent("c", "u1")], tables)
    assert tables.rows_loaded == 2  # the senders' rows, not the room's
    assert sorted(r.user_id for r in ops.unread) == ["u0", "u1"]
    assert ops.totals == {"c": 2}
    tables.apply(ops)
    assert [tables.unread_of(u, "c") for u in ("u0", "u1", "u2", "u999")] == [1, 1, 2, 2]


def test_a_new_member_starts_with_nothing_unread() -> None:
    log, tables = Log(), ChatTables()
    project_chats(tables, [log.created("c", "alice"), log.sent("c", "alice")])
    project_chats(tables, [log.added("c", "bob")])
    assert tables.unread_of("bob", "c") == 0
    assert ("c", "bob") in tables.members


def test_an_old_per_message_read_counts_as_a_mark() -> None:
    log, tables = Log(), ChatTables()
    created = log.created("c", "alice", "bob")
    m1 = log.sent("c", "alice")
    project_chats(tables, [created, m1, log.sent("c", "alice")])
    old = MessageReceipt(position=99, at=AT, kind="read", message_id=m1.message_id,
                         user_id="bob")
    project_chats(tables, [old])
    assert tables.unread[("bob", "c")] == (m1.position, 1)


def test_history_receipts_of_big_chats_name_the_sender_only() -> None:
    log = Log()
    sent = log.sent("c", "alice")
    ops = HistoryProjection(receipts_room_max=2).project(
        [sent, log.read("bob", sent.message_id, members=2),
         log.read("carol", sent.message_id, members=3)], Stored({}))
    assert [r.type for r in ops.feed.rows] == [ServerEvent.NEW_MESSAGE, ServerEvent.MESSAGE_READ,
                                               ServerEvent.MESSAGE_READ]
    assert [r.user_id for r in ops.feed.rows[1:]] == [None, "alice"]
    assert [(m.user_id, m.seq) for m in ops.read_marks] == [("bob", 1), ("carol", 1)]
    payload = json.loads(ops.feed.rows[0].payload)
    assert payload == {"id": sent.message_id, "chatId": "c", "senderId": "alice",
                       "content": "hi", "seq": 1, "createdAt": AT, "deliveryStatus": "sent",
                       "clientMessageId": None, "editedAt": None, "deleted": False,
                       "erased": False, "replyTo": None, "threadId": None, "threadReplyCount": 0,
                       "threadLastReplyAt": None, "reactions": {}, "mentions": [],
                       "pinned": False}


class Stored:
    def __init__(self, messages: dict[str, tuple[str, int]],
                 hidden: Iterable[str] = ()) -> None:
        self.messages = messages
        self.hidden = set(hidden)

    def where(self, message_ids: Iterable[str]) -> Mapping[str, tuple[str, int]]:
        return {m: self.messages[m] for m in message_ids if m in self.messages}

    def receipts_hidden(self, user_ids: Iterable[str]) -> set[str]:
        return self.hidden & set(user_ids)


def test_history_old_receipt_of_a_stored_message_raises_the_read_mark_once() -> None:
    def receipt(position: int, kind: str) -> MessageReceipt:
        return MessageReceipt(position=position, at=AT, kind=kind,  # type: ignore[arg-type]
                              message_id="m1", user_id="bob")

    ops = HistoryProjection().project(
        [receipt(10, "delivered"), receipt(11, "read"),
         MessageReceipt(position=12, at=AT, kind="read", message_id="gone", user_id="bob")],
        Stored({"m1": ("c", 5)}))
    assert [(r.kind, r.message_id) for r in ops.receipts] == [("delivered", "m1"),
                                                              ("read", "m1")]
    assert [(m.chat_id, m.seq) for m in ops.read_marks] == [("c", 5)]
    assert len(ops.feed.rows) == 2  # nothing for a message no one stored


class PresenceTables:
    """rm_connections and rm_nodes as dicts; the PresenceState port."""

    def __init__(self) -> None:
        self.connections: dict[str, tuple[str, str]] = {}  # id -> (user, node)
        self.nodes: dict[str, str] = {}
        self.last_seen: dict[str, str] = {}
        self.hidden: set[str] = set()

    def last_seen_hidden(self, user_id: str) -> bool:
        return user_id in self.hidden

    def connections_of(self, user_id: str, except_node: str | None = None) -> int:
        return sum(1 for u, n in self.connections.values()
                   if u == user_id and n != except_node)

    def connection_user(self, connection_id: str) -> str | None:
        found = self.connections.get(connection_id)
        return found[0] if found else None

    def node_id(self, node_key: str) -> str | None:
        return self.nodes.get(node_key)

    def users_on(self, node_id: str) -> list[str]:
        return sorted({u for u, n in self.connections.values() if n == node_id})

    def apply(self, op: PresenceOp) -> None:
        if isinstance(op, OpenConnection):
            self.connections.setdefault(op.connection_id, (op.user_id, op.node_id))
        elif isinstance(op, CloseConnection):
            del self.connections[op.connection_id]
        elif isinstance(op, CloseNode):
            self.connections = {k: v for k, v in self.connections.items() if v[1] != op.node_id}
        elif isinstance(op, AddNode):
            self.nodes.setdefault(op.node_key, op.node_id)
        elif isinstance(op, LastSeen):
            self.last_seen[op.user_id] = op.at
        elif isinstance(op, LastSeenShown):
            (self.hidden.discard if op.shown else self.hidden.add)(op.user_id)


def project_presence(tables: PresenceTables, events: list[ProjectedEvent]) -> list[str]:
    feed, projection = FeedRows("presence"), PresenceProjection()
    for event in events:
        for op in projection.project(event, tables, feed):
            tables.apply(op)
    return [f"{row.type} {json.loads(row.payload)['userId']}" for row in feed.rows]


def test_online_from_the_first_connection_to_the_last_on_any_node() -> None:
    tables = PresenceTables()
    told = project_presence(tables, [
        NodeStarted(position=1, at=AT, node_key="k1", node_id="n1"),
        NodeStarted(position=2, at=AT, node_key="k2", node_id="n2"),
        ConnectionOpened(position=3, at=AT, connection_id="a1", user_id="alice", node_id="n1"),
        ConnectionOpened(position=4, at=AT, connection_id="a2", user_id="alice", node_id="n2"),
        ConnectionOpened(position=5, at=AT, connection_id="b1", user_id="bob", node_id="n1"),
        ConnectionClosed(position=6, at=AT, connection_id="a1"),
        ConnectionClosed(position=7, at=AT, connection_id="unknown"),
        NodeGone(position=8, at="2026-01-01T00:00:08.000Z", node_key="k1"),  # bob's node
        ConnectionClosed(position=9, at="2026-01-01T00:00:09.000Z", connection_id="a2"),
    ])
    assert told == ["user-online alice", "user-online bob", "user-offline bob",
                    "user-offline alice"]
    assert tables.last_seen == {"bob": "2026-01-01T00:00:08.000Z",
                                "alice": "2026-01-01T00:00:09.000Z"}
    assert tables.connections == {}


def privacy(position: int, user: str, read_receipts: bool = True,
            last_seen: bool = True) -> PrivacyChanged:
    return PrivacyChanged(position=position, at=AT, user_id=user, read_receipts=read_receipts,
                          last_seen=last_seen)


def read_mark(position: int, user: str, seq: int) -> MarkMoved:
    return MarkMoved(position=position, at=AT, kind="read", chat_id="c", user_id=user,
                     message_id=f"m{seq}", sender_id="alice", seq=seq, members=3)


def test_a_read_with_receipts_off_moves_only_the_delivered_mark_and_tells_only_the_reader(
) -> None:
    ops = HistoryProjection().project(
        [read_mark(10, "bob", 5), privacy(11, "bob", read_receipts=False),
         read_mark(12, "bob", 6), read_mark(13, "carol", 6)],
        Stored({}))
    assert [(m.user_id, m.seq) for m in ops.read_marks] == [("bob", 5), ("carol", 6)]
    assert [(m.user_id, m.seq) for m in ops.delivered_marks] == [("bob", 6)]
    # bob's first read (receipts on) went to the room; the private one only to bob.
    assert [(r.type, r.user_id) for r in ops.feed.rows] == [
        ("message-read", None), ("message-read", "bob"), ("message-read", None)]
    assert ops.receipt_privacy == {"bob": False}
    assert [(m.user_id, m.kind, m.seq) for m in ops.mark_log] == [
        ("bob", "read", 5), ("bob", "delivered", 6), ("carol", "read", 6)]


def test_a_reader_whose_receipts_were_off_before_the_batch_stays_private_until_back_on(
) -> None:
    ops = HistoryProjection().project(
        [read_mark(20, "bob", 7), privacy(21, "bob", read_receipts=True),
         read_mark(22, "bob", 8)],
        Stored({}, hidden={"bob"}))
    assert [(m.user_id, m.seq) for m in ops.read_marks] == [("bob", 8)]
    assert [r.user_id for r in ops.feed.rows] == ["bob", None]


def test_going_offline_with_last_seen_off_tells_no_time() -> None:
    tables = PresenceTables()
    feed, projection = FeedRows("presence"), PresenceProjection()
    for event in [
        NodeStarted(position=1, at=AT, node_key="k1", node_id="n1"),
        privacy(2, "bob", last_seen=False),
        ConnectionOpened(position=3, at=AT, connection_id="b1", user_id="bob", node_id="n1"),
        ConnectionClosed(position=4, at=AT, connection_id="b1"),
        privacy(5, "bob", last_seen=True),
        ConnectionOpened(position=6, at=AT, connection_id="b2", user_id="bob", node_id="n1"),
        ConnectionClosed(position=7, at=AT, connection_id="b2"),
    ]:
        for op in projection.project(event, tables, feed):
            tables.apply(op)
    offline = [json.loads(r.payload) for r in feed.rows if r.type == "user-offline"]
    assert offline == [{"userId": "bob", "lastSeen": None}, {"userId": "bob", "lastSeen": AT}]
