"""Queries over the read models (the application's ReadModels port)."""

import json
from typing import Any
from uuid import UUID

import msgspec

from application.feed import ServerEvent
from application.views import (
    ChatListItem,
    ChatView,
    FeedItem,
    MessageView,
    PresenceView,
)
from infrastructure.readmodels.database import Database

_MESSAGE_COLUMNS = "id, chat_id, sender_id, content, seq, created_at, client_message_id"


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
                "SELECT id, title, created_by, created_at FROM rm_chats WHERE id = %s",
                (str(chat_id),),
            )
            if row is None:
                return None
            return ChatView(id=row[0], title=row[1], created_by=row[2], created_at=row[3],
                            member_ids=self._members(tx, row[0]))

    def chat_ids_of(self, user_id: str) -> list[str]:
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall("SELECT chat_id FROM rm_members WHERE user_id = %s", (user_id,))
        return [r[0] for r in rows]

    def chats_of(self, user_id: str) -> list[ChatListItem]:
        with self._db.transaction(readonly=True) as tx:
            rows = tx.fetchall(
                "SELECT c.id, c.title, c.created_by, c.created_at, c.last_message, u.unread"
                " FROM rm_members m JOIN rm_chats c ON c.id = m.chat_id"
                " LEFT JOIN rm_unread u ON u.chat_id = m.chat_id AND u.user_id = m.user_id"
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
        items = [
            ChatListItem(
                id=row[0], title=row[1], created_by=row[2], created_at=row[3],
                member_ids=members.get(row[0], []), unread_count=int(row[5] or 0),
                last_message=msgspec.json.decode(row[4], type=MessageView) if row[4] else None,
            )
            for row in rows
        ]
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
        views = []
        for r in rows:
            read_by = sorted(u for u, seq in marks if seq >= r[4] and u != r[2])
            # Per-message receipts of earlier releases, then the marks that reach it.
            delivered_to = delivered.get(r[0], set()) | set(read_by) | {
                u for u, seq in delivered_marks if seq >= r[4] and u != r[2]}
            views.append(MessageView(
                id=r[0], chat_id=r[1], sender_id=r[2], content=r[3], seq=int(r[4]),
                created_at=r[5], client_message_id=r[6],
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
        self, chat_id: UUID, before: int | None, after: int | None, limit: int
    ) -> tuple[list[MessageView], bool]:
        """A page oldest first, and whether older messages exist before it."""
        where, params = ["chat_id = %s"], [str(chat_id)]
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
                    "SELECT 1 FROM rm_messages WHERE chat_id = %s AND seq < %s LIMIT 1",
                    (str(chat_id), rows[0][4]),
                ) is not None
            return self._with_receipts(tx, rows), older

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
            seen = dict(tx.fetchall(  # type: ignore[arg-type]
                f"SELECT user_id, last_seen FROM rm_last_seen WHERE user_id IN ({placeholders})",
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
                "SELECT position, type, chat_id, payload, occurred_at FROM rm_feed"
                " WHERE position > %s AND position <= (SELECT MIN(position) FROM rm_tracking)"
                " AND chat_id IS NOT NULL AND (user_id = %s OR (chat_id IN"
                " (SELECT chat_id FROM rm_members WHERE user_id = %s)"
                # A receipt of a big chat names the sender: only they get it.
                " AND NOT (user_id IS NOT NULL AND type IN (%s, %s))))"
                " ORDER BY position, source, ordinal LIMIT %s",
                (after, user_id, user_id, ServerEvent.MESSAGE_DELIVERED.value,
                 ServerEvent.MESSAGE_READ.value, limit),
            )
        return [FeedItem(position=int(r[0]), type=r[1], chat_id=r[2], data=json.loads(r[3]),
                         occurred_at=r[4]) for r in rows]

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
