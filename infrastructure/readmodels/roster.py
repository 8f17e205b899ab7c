"""The SQL of the roster (rules: application/projections/roster.py): each chat's
kind, owner, admins and details, spans of membership, bans, mutes, reports.

A projection of its own, with its own tracking position: on a store of a release
before it, the runner builds it from the first event while the others go on."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from application.projections.roster import RosterChat, RosterOps, RosterProjection
from infrastructure.readmodels.common import FEED_COLUMNS, Projection, select_in
from infrastructure.stored_events import (
    ADMIN_ADDED,
    ADMIN_REMOVED,
    BANNED,
    CHAT_CREATED,
    CHAT_UPDATED,
    INVITE_ACCEPTED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MUTED,
    OWNER_CHANGED,
    REPORT_FILED,
    UNBANNED,
    UNMUTED,
    Change,
    typed,
)

TOPICS = frozenset({CHAT_CREATED, MEMBER_ADDED, MEMBER_REMOVED, CHAT_UPDATED, ADMIN_ADDED,
                    ADMIN_REMOVED, OWNER_CHANGED, BANNED, UNBANNED, MUTED, UNMUTED,
                    INVITE_ACCEPTED, REPORT_FILED})


class _StoredRoster:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def chats(self, chat_ids: Iterable[str]) -> Mapping[str, RosterChat]:
        ids = list(chat_ids)
        chats = {
            r[0]: RosterChat(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]))
            for r in select_in(self._tx, "SELECT chat_id, kind, title, description, created_by,"
                               " created_at, owner_id, admins FROM rm_chat_info"
                               " WHERE chat_id IN ({keys})", ids)
        }
        for chat_id, user_id, joined_at, rank in select_in(
                self._tx, "SELECT chat_id, user_id, joined_at, join_rank FROM rm_member_spans"
                " WHERE left_at IS NULL AND chat_id IN ({keys})", ids):
            if chat_id in chats:
                chats[chat_id].members[user_id] = (int(joined_at), int(rank), True)
        return chats


class RosterView(Projection):
    name = "roster"
    tables = ["rm_chat_info", "rm_member_spans", "rm_bans", "rm_mutes", "rm_reports"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS rm_chat_info (chat_id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
        " title TEXT NOT NULL, description TEXT NOT NULL, created_by TEXT NOT NULL,"
        " created_at TEXT NOT NULL, owner_id TEXT, admins TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS rm_member_spans (chat_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, joined_at BIGINT NOT NULL, join_rank INTEGER NOT NULL,"
        " left_at BIGINT, PRIMARY KEY (chat_id, user_id, joined_at))",
        "CREATE TABLE IF NOT EXISTS rm_bans (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " by_user TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL,"
        " PRIMARY KEY (chat_id, user_id))",
        "CREATE TABLE IF NOT EXISTS rm_mutes (chat_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " by_user TEXT NOT NULL, until TEXT, PRIMARY KEY (chat_id, user_id))",
        "CREATE TABLE IF NOT EXISTS rm_reports (id TEXT PRIMARY KEY, chat_id TEXT NOT NULL,"
        " message_id TEXT NOT NULL, reporter_id TEXT NOT NULL, reason TEXT NOT NULL,"
        " at TEXT NOT NULL)",
    ]
    # Recovery and /api/events find a user's spans; reports are listed per chat. The
    # open spans (a chat's members now, the span a leave ends) have an index of their
    # own: under the primary key a member who left and came back 50k times costs a walk
    # over 50k closed spans.
    indexes = ["CREATE INDEX IF NOT EXISTS rm_member_spans_user ON rm_member_spans"
               " (user_id, chat_id)",
               "CREATE INDEX IF NOT EXISTS rm_member_spans_open ON rm_member_spans"
               " (chat_id, user_id) WHERE left_at IS NULL",
               "CREATE INDEX IF NOT EXISTS rm_reports_chat ON rm_reports (chat_id, at)"]

    def __init__(self) -> None:
        self.projection = RosterProjection()

    def apply(self, tx: Any, changes: list[Change]) -> None:
        events = typed(changes, TOPICS)
        if events:
            self.write(tx, self.projection.project(events, _StoredRoster(tx)))

    @staticmethod
    def write(tx: Any, ops: RosterOps) -> None:
        if ops.info:
            tx.executemany(
                "INSERT INTO rm_chat_info (chat_id, kind, title, description, created_by,"
                " created_at, owner_id, admins) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title,"
                " description = excluded.description, owner_id = excluded.owner_id,"
                " admins = excluded.admins", ops.info)
        if ops.span_ends:
            tx.executemany("UPDATE rm_member_spans SET left_at = %s WHERE chat_id = %s"
                           " AND user_id = %s AND left_at IS NULL", ops.span_ends)
        if ops.spans:
            tx.insert("rm_member_spans",
                      ("chat_id", "user_id", "joined_at", "join_rank", "left_at"), ops.spans)
        if ops.bans:
            tx.executemany(
                "INSERT INTO rm_bans (chat_id, user_id, by_user, reason, at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (chat_id, user_id) DO UPDATE SET"
                " by_user = excluded.by_user, reason = excluded.reason, at = excluded.at",
                ops.bans)
        if ops.unbans:
            tx.executemany("DELETE FROM rm_bans WHERE chat_id = %s AND user_id = %s", ops.unbans)
        if ops.mutes:
            tx.executemany(
                "INSERT INTO rm_mutes (chat_id, user_id, by_user, until) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (chat_id, user_id) DO UPDATE SET by_user = excluded.by_user,"
                " until = excluded.until", ops.mutes)
        if ops.unmutes:
            tx.executemany("DELETE FROM rm_mutes WHERE chat_id = %s AND user_id = %s",
                           ops.unmutes)
        if ops.reports:
            tx.insert("rm_reports", ("id", "chat_id", "message_id", "reporter_id", "reason",
                                     "at"), ops.reports)
        if ops.feed.rows:
            tx.insert("rm_feed", FEED_COLUMNS, ops.feed.rows)
