"""Queries over the read models (the application's ReadModels port)."""

import json
from typing import Any
from uuid import UUID

import msgspec

from application.projections.history import HistoryProjection
from application.views import (
    BanView,
    ChatListItem,
    ChatView,
    EditView,
    FeedItem,
    MessageView,
    MuteView,
    PresenceView,
    ReportView,
)
from infrastructure.readmodels.common import select_in
from infrastructure.readmodels.database import Database

_MESSAGE_COLUMNS = ("id, chat_id, sender_id, content, seq, created_at, client_message_id,"
                    " reply_to, thread_id, mentions, edited_at, deleted, thread_reply_count,"
                    " thread_last_reply_at, pinned, erased")
_ROLE_COLUMNS = "i.kind, i.owner_id, i.admins, i.description"


def _roles(row: tuple[Any, ...], created_by: str) -> dict[str, Any]:
    """kind, ownerId, admins, description from the roster (rm_chat_info); a chat it
    has not reached yet (an upgrade catching up) shows as its creator's group."""
    kind, owner_id, admins, description = row
    if kind is None:
        return {"kind": "group", "owner_id": created_by, "admins": [created_by],
                "description": ""}
    return {"kind": kind, "owner_id": owner_id, "admins": json.loads(admins),
            "description": description}


class SqlReadModels:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _members(self, tx: Any, chat_id: str) -> list[str]:
        rows = tx.fetchall(
            "SELECT user_id FROM rm_members WHERE chat_id = %s ORDER BY user_id", (chat_id,)
        )
        return [r[0] for r in rows]

    def chat(self, chat_id: UUID) -> ChatView | None:
        with self._db.transaction(readonly=True) as tx:
            row = tx.fetchone(
                f"SELECT c.id, c.title, c.created_by, c.created_at, {_ROLE_COLUMNS}"
                " FROM rm_chats c LEFT JOIN rm_chat_info i ON i.chat_id = c.id WHERE c.id = %s",
                (str(chat_id),),
            )
            if row is None:
                return None
            return ChatView(id=row[0], title=row[1], created_by=row[2], created_at=row[3],
                            member_ids=self._members(tx, row[0]), **_roles(row[4:], row[2]))

    def chat_ids_of(self, user_id: str) -> list[str]:
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall("SELECT chat_id FROM rm_members WHERE user_id = %s", (user_id,))
        return [r[0] for r in rows]

    def hidden_readers(self, user_ids: list[str]) -> tuple[int, set[str]]:
        """The history read model's position, and those of these users hiding their read
        receipts there: one statement, so both are one snapshot."""
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall(
                "SELECT t.position, p.user_id FROM rm_tracking t LEFT JOIN rm_receipt_privacy p"
                f" ON p.read_receipts = 0 AND p.user_id IN ({', '.join(['%s'] * len(user_ids))})"
                " WHERE t.name = %s", (*user_ids, HistoryProjection.name))
        return (int(rows[0][0]) if rows else 0), {r[1] for r in rows if r[1] is not None}

    def chat_ids_of_many(self, user_ids: list[str]) -> dict[str, list[str]]:
        chats: dict[str, list[str]] = {}
        with self._db.transaction(readonly=True) as tx:
            for user_id, chat_id in select_in(
                    tx, "SELECT user_id, chat_id FROM rm_members WHERE user_id IN ({keys})",
                    user_ids):
                chats.setdefault(user_id, []).append(chat_id)
        return chats

    def chats_of(self, user_id: str) -> list[ChatListItem]:
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall(
                # Unread: application/projections/chats.py, `unread_count`.
                "SELECT c.id, c.title, c.created_by, c.created_at, c.last_message,"
                " u.unread + (c.total - u.total_at) - (u.own - u.own_at),"
                f" {_ROLE_COLUMNS}, (SELECT COUNT(*) FROM rm_mentions x"
                " WHERE x.user_id = m.user_id AND x.chat_id = m.chat_id"
                " AND x.seq > COALESCE(u.read_seq, 0))"
                " FROM rm_members m JOIN rm_chats c ON c.id = m.chat_id"
                " LEFT JOIN rm_unread u ON u.chat_id = m.chat_id AND u.user_id = m.user_id"
                " LEFT JOIN rm_chat_info i ON i.chat_id = c.id"
                " WHERE m.user_id = %s ORDER BY c.created_at DESC, c.id",
                (user_id,),
            )
            # Every member of every chat of the user, in one query rather than one per chat.
            members: dict[str, list[str]] = {}
            for chat_id, member in tx.fetchall(
                "SELECT o.chat_id, o.user_id FROM rm_members m"
                " JOIN rm_members o ON o.chat_id = m.chat_id"
                " WHERE m.user_id = %s ORDER BY o.chat_id, o.user_id",
                (user_id,),
            ):
                members.setdefault(chat_id, []).append(member)
        items = []
        for row in rows:
            roles = _roles(row[6:10], row[2])
            member_ids = members.get(row[0], [])
            others = [m for m in member_ids if m != user_id]
            items.append(ChatListItem(
                id=row[0], title=row[1], created_by=row[2], created_at=row[3],
                member_ids=member_ids, unread_count=int(row[5] or 0),
                unread_mentions=int(row[10] or 0),
                last_message=msgspec.json.decode(row[4], type=MessageView) if row[4] else None,
                other_user_id=others[0] if roles["kind"] == "direct" and others else None,
                **roles,
            ))
        # Most recent activity first, as a chat list shows it.
        items.sort(key=lambda c: c.last_message.seq if c.last_message else 0, reverse=True)
        return items

    def _with_receipts(self, tx: Any, rows: list[tuple[Any, ...]]) -> list[MessageView]:
        if not rows:
            return []
        chat_id = rows[0][1]
        marks = tx.fetchall("SELECT user_id, seq FROM rm_read_marks WHERE chat_id = %s",
                            (chat_id,))
        delivered_marks = tx.fetchall(
            "SELECT user_id, seq FROM rm_delivered_marks WHERE chat_id = %s", (chat_id,))
        ids = [r[0] for r in rows]
        placeholders = ",".join(["%s"] * len(ids))
        delivered: dict[str, set[str]] = {}
        for message_id, user_id in tx.fetchall(
            f"SELECT message_id, user_id FROM rm_receipts WHERE message_id IN ({placeholders})",
            ids,
        ):
            delivered.setdefault(message_id, set()).add(user_id)
        reactions: dict[str, dict[str, list[str]]] = {}
        for message_id, emoji, user_id in tx.fetchall(
            "SELECT message_id, emoji, user_id FROM rm_reactions"
            f" WHERE message_id IN ({placeholders}) ORDER BY position", ids,
        ):  # each emoji in the order it was first given, and its users in that order too
            reactions.setdefault(message_id, {}).setdefault(emoji, []).append(user_id)
        # Readers whose readReceipts are off now: in nobody's readBy (delivered still).
        hidden = {u for (u,) in tx.fetchall(
            "SELECT p.user_id FROM rm_receipt_privacy p JOIN rm_read_marks r"
            " ON r.user_id = p.user_id WHERE r.chat_id = %s AND p.read_receipts = 0",
            (chat_id,))} if marks else set()
        views = []
        for r in rows:
            readers = {u for u, seq in marks if seq >= r[4] and u != r[2]}
            read_by = sorted(readers - hidden)
            # Per-message receipts of earlier releases, then the marks that reach it.
            delivered_to = delivered.get(r[0], set()) | readers | {
                u for u, seq in delivered_marks if seq >= r[4] and u != r[2]}
            deleted, erased = bool(r[11]), bool(r[15])
            views.append(MessageView(
                id=r[0], chat_id=r[1], sender_id=r[2],
                content=None if deleted or erased else r[3], erased=erased,
                seq=int(r[4]), created_at=r[5], client_message_id=r[6],
                reply_to=r[7], thread_id=r[8], mentions=json.loads(r[9]), edited_at=r[10],
                deleted=deleted, thread_reply_count=int(r[12]), thread_last_reply_at=r[13],
                pinned=bool(r[14]), reactions=reactions.get(r[0], {}),
                delivered_to=sorted(delivered_to),
                read_by=read_by,
            ))
        return views

    def message(self, message_id: UUID) -> MessageView | None:
        with self._db.transaction(readonly=True) as tx:
            row = tx.fetchone(f"SELECT {_MESSAGE_COLUMNS} FROM rm_messages WHERE id = %s",
                              (str(message_id),))
            return self._with_receipts(tx, [row])[0] if row else None

    def history(
        self, chat_id: UUID, before: int | None, after: int | None, limit: int,
        thread_id: UUID | None = None,
    ) -> tuple[list[MessageView], bool]:
        """A page oldest first, and whether older messages exist before it: of the
        main timeline, or of the thread of `thread_id`."""
        timeline = "thread_id IS NULL" if thread_id is None else "thread_id = %s"
        scope: list[Any] = [str(chat_id)] + ([] if thread_id is None else [str(thread_id)])
        where, params = ["chat_id = %s", timeline], list(scope)
        if before is not None:
            where.append("seq < %s")
            params.append(before)  # type: ignore[arg-type]
        if after is not None:
            where.append("seq > %s")
            params.append(after)  # type: ignore[arg-type]
        # With `after` the page walks forward from it; otherwise it ends at `before`.
        order = "ASC" if after is not None else "DESC"
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall(
                f"SELECT {_MESSAGE_COLUMNS} FROM rm_messages WHERE {' AND '.join(where)}"
                f" ORDER BY seq {order} LIMIT %s",
                [*params, limit],
            )
            if order == "DESC":
                rows.reverse()
            older = False
            if rows:
                older = tx.fetchone(
                    f"SELECT 1 FROM rm_messages WHERE chat_id = %s AND {timeline}"
                    " AND seq < %s LIMIT 1", (*scope, rows[0][4]),
                ) is not None
            return self._with_receipts(tx, rows), older

    def pins(self, chat_id: UUID) -> list[MessageView]:
        """The chat's pinned messages, latest pin first."""
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall(
                f"SELECT {_MESSAGE_COLUMNS} FROM rm_messages WHERE chat_id = %s"
                " AND pinned_seq IS NOT NULL ORDER BY pinned_seq DESC", (str(chat_id),))
            return self._with_receipts(tx, rows)

    def edits(self, message_id: UUID) -> list[EditView]:
        """Every version, the original first; a message never edited has just that."""
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall("SELECT content, edited_at, seq FROM rm_edits"
                               " WHERE message_id = %s ORDER BY seq", (str(message_id),))
            if not rows:
                original = tx.fetchone("SELECT content, created_at, seq, deleted + erased"
                                       " FROM rm_messages WHERE id = %s", (str(message_id),))
                if original is not None:
                    rows = [(None if original[3] else original[0], original[1], original[2])]
        return [EditView(content=r[0], edited_at=r[1], seq=int(r[2])) for r in rows]

    def presence(self, user_ids: list[str], now: float) -> list[PresenceView]:
        if not user_ids:
            return []
        placeholders = ",".join(["%s"] * len(user_ids))
        with self._db.transaction(readonly=True) as tx:
            online = {r[0] for r in tx.fetchall(
                "SELECT DISTINCT c.user_id FROM rm_connections c"
                " JOIN node_leases n ON n.node_id = c.node_id"
                f" WHERE n.lease_until > %s AND c.user_id IN ({placeholders})",
                [now, *user_ids],
            )}
            # A user whose lastSeen setting is off shows no time (null).
            seen = dict(tx.fetchall(  # type: ignore[arg-type]
                "SELECT s.user_id, s.last_seen FROM rm_last_seen s"
                " LEFT JOIN rm_last_seen_privacy p ON p.user_id = s.user_id"
                f" WHERE s.user_id IN ({placeholders}) AND COALESCE(p.shown, 1) = 1",
                user_ids,
            ))
        return [PresenceView(user_id=u, online=u in online, last_seen=seen.get(u))
                for u in user_ids]

    def lapsed_nodes(self, now: float) -> list[str]:
        """Nodes that hold connections but whose lease ran out (or that have none)."""
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall(
                "SELECT DISTINCT c.node_id FROM rm_connections c"
                " LEFT JOIN node_leases n ON n.node_id = c.node_id"
                " WHERE n.lease_until IS NULL OR n.lease_until < %s ORDER BY c.node_id",
                (now,),
            )
        return [r[0] for r in rows]

    def feed(self, user_id: str, after: int, limit: int) -> list[FeedItem]:
        # Only up to the slowest projection: each projection commits its feed rows
        # on its own, so beyond that position a later row of another projection
        # could still appear below a cursor the client has already moved past.
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall(
                "SELECT position, type, chat_id, payload, occurred_at FROM rm_feed f"
                " WHERE position > %s AND position <= (SELECT MIN(position) FROM rm_tracking)"
                # A row that names a user is theirs alone (chat-added, a big chat's receipt).
                " AND chat_id IS NOT NULL AND (user_id = %s OR (user_id IS NULL"
                " AND chat_id IN (SELECT chat_id FROM rm_member_spans WHERE user_id = %s"
                " AND (left_at IS NULL OR left_at > %s))"
                # Room rows only from when the user was a member: a banned user gets
                # nothing after `chat-removed`, not even through recovery.
                " AND EXISTS (SELECT 1 FROM rm_member_spans s WHERE s.chat_id = f.chat_id"
                " AND s.user_id = %s AND s.joined_at <= f.position"
                " AND (s.left_at IS NULL OR f.position < s.left_at))))"
                " ORDER BY position, source, ordinal LIMIT %s",
                (after, user_id, user_id, after, user_id, limit),
            )
        return [FeedItem(position=int(r[0]), type=r[1], chat_id=r[2], data=json.loads(r[3]),
                         occurred_at=r[4]) for r in rows]

    # -- chats people run (the roster) ---------------------------------------------
    def bans(self, chat_id: UUID) -> list[BanView]:
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall("SELECT user_id, by_user, reason, at FROM rm_bans"
                               " WHERE chat_id = %s ORDER BY at, user_id", (str(chat_id),))
        return [BanView(user_id=r[0], by=r[1], reason=r[2], at=r[3]) for r in rows]

    def mutes(self, chat_id: UUID, now: str) -> list[MuteView]:
        """Mutes in force at `now` (wire time): expired ones are over by themselves."""
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall("SELECT user_id, by_user, until FROM rm_mutes WHERE chat_id = %s"
                               " AND (until IS NULL OR until > %s) ORDER BY user_id",
                               (str(chat_id), now))
        return [MuteView(user_id=r[0], by=r[1], until=r[2]) for r in rows]

    def reports(self, chat_id: UUID) -> list[ReportView]:
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall("SELECT id, message_id, reporter_id, reason, at FROM rm_reports"
                               " WHERE chat_id = %s ORDER BY at, id", (str(chat_id),))
        return [ReportView(id=r[0], message_id=r[1], reporter_id=r[2], reason=r[3], at=r[4])
                for r in rows]

    def feed_rows(self, source: str | None, after: int, upto: int) -> list[tuple[Any, ...]]:
        """Raw feed rows of one projection (None: of all), for the live fan-out of
        every node, in store order."""
        where = "" if source is None else " AND source = %s"
        params = (after, upto) if source is None else (after, upto, source)
        with self._db.transaction(readonly=True) as tx:
            return tx.fetchall(
                "SELECT position, type, chat_id, user_id, payload FROM rm_feed"
                f" WHERE position > %s AND position <= %s{where}"
                " ORDER BY position, source, ordinal",
                params,
            )

    def positions(self) -> dict[str, int]:
        with self._db.transaction(readonly=True) as tx:
            return {r[0]: int(r[1]) for r in tx.fetchall("SELECT name, position FROM rm_tracking")}
