"""The roster of each chat: kind, owner, admins, details, who was a member when
(spans of membership, which recovery and /api/events filter by), bans, mutes and
reports; and the feed rows of chats people run: `chat-added` / `chat-removed` to
the user concerned, `member-joined`, `member-left`, `admins-changed`,
`chat-updated`, `member-muted` / `member-unmuted` to the room.

Rules: an owner who goes (leaves, or was removed by a release before roles) hands
the chat to the oldest admin, else the oldest member (domain/chat.py `next_owner`,
the rule the aggregate applies). Members are ordered by when they joined (position,
then their place in the chat's creation). A message costs nothing here: only
events that change a chat's roster load its state."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from application.feed import (
    AdminsChanged,
    ChatAdded,
    ChatRemoved,
    MemberJoined,
    MemberLeft,
    MuteChanged,
    ServerEvent,
    WireChat,
)
from application.projections.events import (
    ChatCreated,
    ChatUpdated,
    Event,
    InviteAccepted,
    MemberAdded,
    MemberBanned,
    MemberMuted,
    MemberRemoved,
    MemberUnbanned,
    MemberUnmuted,
    MessageReported,
    ProjectedEvent,
    RoleChanged,
)
from application.projections.feed_rows import FeedRows, to_json
from domain.chat import GROUP, next_owner


class InfoRow(NamedTuple):
    chat_id: str
    kind: str
    title: str
    description: str
    created_by: str
    created_at: str
    owner_id: str | None
    admins: str  # JSON list


class SpanRow(NamedTuple):
    """A stretch of membership: from the join's position to the leave's (None: still)."""

    chat_id: str
    user_id: str
    joined_at: int
    rank: int
    left_at: int | None


class SpanEnd(NamedTuple):
    """Close the stored open span of (chat_id, user_id) at left_at."""

    left_at: int
    chat_id: str
    user_id: str


class BanRow(NamedTuple):
    chat_id: str
    user_id: str
    by: str
    reason: str
    at: str


class MuteRow(NamedTuple):
    chat_id: str
    user_id: str
    by: str
    until: str | None


class ReportRow(NamedTuple):
    id: str
    chat_id: str
    message_id: str
    reporter_id: str
    reason: str
    at: str


@dataclass
class RosterChat:
    """One chat's roster while a batch is projected. `members`: user -> (joined_at,
    rank, stored) where `stored` says the open span is in the read model already."""

    id: str
    kind: str
    title: str
    description: str
    created_by: str
    created_at: str
    owner_id: str | None
    admins: list[str]
    members: dict[str, tuple[int, int, bool]] = field(default_factory=dict)

    def in_join_order(self) -> list[str]:
        return sorted(self.members, key=lambda u: self.members[u][:2])

    def wire(self) -> WireChat:
        return WireChat(id=self.id, title=self.title, member_ids=sorted(self.members),
                        created_by=self.created_by, created_at=self.created_at, kind=self.kind,
                        owner_id=self.owner_id, admins=list(self.admins),
                        description=self.description)

    def info(self) -> InfoRow:
        return InfoRow(self.id, self.kind, self.title, self.description, self.created_by,
                       self.created_at, self.owner_id, to_json(self.admins))


class RosterOps(NamedTuple):
    info: list[InfoRow]  # upsert
    spans: list[SpanRow]  # insert
    span_ends: list[SpanEnd]
    bans: list[BanRow]  # upsert
    unbans: list[tuple[str, str]]  # (chat_id, user_id) to delete
    mutes: list[MuteRow]  # upsert
    unmutes: list[tuple[str, str]]
    reports: list[ReportRow]
    feed: FeedRows


class StoredRoster(Protocol):
    def chats(self, chat_ids: Iterable[str]) -> Mapping[str, RosterChat]:
        """The stored roster of these chats (with their current members)."""
        ...


_NEEDS_STATE = (MemberAdded, InviteAccepted, MemberRemoved, MemberBanned, RoleChanged,
                ChatUpdated)


class RosterProjection:
    name = "roster"

    def project(self, events: list[ProjectedEvent], stored: StoredRoster) -> RosterOps:
        created = {e.chat_id for e in events if isinstance(e, ChatCreated)}
        wanted = {e.chat_id for e in events if isinstance(e, _NEEDS_STATE)} - created
        chats: dict[str, RosterChat] = dict(stored.chats(wanted)) if wanted else {}
        ops = RosterOps([], [], [], [], [], [], [], [], FeedRows(self.name))
        changed: set[str] = set()
        # Spans opened in this batch, by (chat, user): closed in memory if they end here.
        opened: dict[tuple[str, str], int] = {}
        # Bans and mutes: the last change per key wins (None: deleted).
        bans: dict[tuple[str, str], BanRow | None] = {}
        mutes: dict[tuple[str, str], MuteRow | None] = {}

        def join(chat: RosterChat, user_id: str, position: int, rank: int) -> None:
            chat.members[user_id] = (position, rank, False)
            opened[(chat.id, user_id)] = len(ops.spans)
            ops.spans.append(SpanRow(chat.id, user_id, position, rank, None))

        def leave(chat: RosterChat, e: Event, user_id: str, by: str, reason: str) -> None:
            _, _, was_stored = chat.members.pop(user_id)
            key = (chat.id, user_id)
            if was_stored:
                ops.span_ends.append(SpanEnd(e.position, chat.id, user_id))
            else:
                i = opened.pop(key)
                ops.spans[i] = ops.spans[i]._replace(left_at=e.position)
            mutes[key] = None
            before = (chat.owner_id, list(chat.admins))
            owner = next_owner(chat.owner_id, user_id, chat.admins, chat.in_join_order())
            chat.admins = [a for a in chat.admins if a != user_id]
            if owner is not None and owner not in chat.admins:
                chat.admins.insert(0, owner)
            chat.owner_id = owner
            # The user's sockets leave the room first: they get nothing of it after this.
            ops.feed.add(e, ServerEvent.CHAT_REMOVED, ChatRemoved(chat_id=chat.id, reason=reason),
                         chat_id=chat.id, user_id=user_id)
            ops.feed.add(e, ServerEvent.MEMBER_LEFT, MemberLeft(
                chat_id=chat.id, user_id=user_id, by=by, reason=reason), chat_id=chat.id)
            if (chat.owner_id, chat.admins) != before:
                admins_changed(chat, e)

        def admins_changed(chat: RosterChat, e: Event) -> None:
            ops.feed.add(e, ServerEvent.ADMINS_CHANGED, AdminsChanged(
                chat_id=chat.id, admins=list(chat.admins), owner_id=chat.owner_id),
                chat_id=chat.id)

        for e in events:
            if isinstance(e, ChatCreated):
                group = e.kind == GROUP
                new = RosterChat(e.chat_id, e.kind, e.title, e.description, e.created_by, e.at,
                                 e.created_by if group else None,
                                 [e.created_by] if group else [])
                chats[e.chat_id] = new
                for rank, user_id in enumerate(dict.fromkeys([e.created_by, *e.member_ids])):
                    join(new, user_id, e.position, rank)
                wire = new.wire()
                for user_id in new.members:
                    ops.feed.add(e, ServerEvent.CHAT_ADDED, ChatAdded(chat=wire),
                                 chat_id=new.id, user_id=user_id)
                changed.add(new.id)
            elif isinstance(e, MemberAdded | InviteAccepted):
                chat = chats.get(e.chat_id)
                if chat is None:
                    continue  # a chat this read model never saw created
                if e.user_id in chat.members:
                    continue
                join(chat, e.user_id, e.position, 0)
                by = e.added_by if isinstance(e, MemberAdded) else e.user_id
                # Into the room first: the new member sees their own joining too.
                ops.feed.add(e, ServerEvent.CHAT_ADDED, ChatAdded(chat=chat.wire()),
                             chat_id=chat.id, user_id=e.user_id)
                ops.feed.add(e, ServerEvent.MEMBER_JOINED, MemberJoined(
                    chat_id=chat.id, user_id=e.user_id, by=by), chat_id=chat.id)
            elif isinstance(e, MemberRemoved):
                chat = chats.get(e.chat_id)
                if chat is None:
                    continue  # a chat this read model never saw created
                if e.user_id in chat.members:
                    reason = "left" if e.removed_by == e.user_id else "removed"
                    leave(chat, e, e.user_id, e.removed_by, reason)
                    changed.add(chat.id)
            elif isinstance(e, MemberBanned):
                bans[(e.chat_id, e.user_id)] = BanRow(e.chat_id, e.user_id, e.by, e.reason, e.at)
                chat = chats.get(e.chat_id)
                if chat is None:
                    continue  # a chat this read model never saw created
                if e.user_id in chat.members:
                    leave(chat, e, e.user_id, e.by, "banned")
                    changed.add(chat.id)
            elif isinstance(e, MemberUnbanned):
                bans[(e.chat_id, e.user_id)] = None
            elif isinstance(e, MemberMuted):
                mutes[(e.chat_id, e.user_id)] = MuteRow(e.chat_id, e.user_id, e.by, e.until)
                ops.feed.add(e, ServerEvent.MEMBER_MUTED, MuteChanged(
                    chat_id=e.chat_id, user_id=e.user_id, until=e.until), chat_id=e.chat_id)
            elif isinstance(e, MemberUnmuted):
                mutes[(e.chat_id, e.user_id)] = None
                ops.feed.add(e, ServerEvent.MEMBER_UNMUTED, MuteChanged(
                    chat_id=e.chat_id, user_id=e.user_id, until=None), chat_id=e.chat_id)
            elif isinstance(e, RoleChanged):
                chat = chats.get(e.chat_id)
                if chat is None:
                    continue  # a chat this read model never saw created
                if e.change == "admin-added" and e.user_id not in chat.admins:
                    chat.admins.append(e.user_id)
                elif e.change == "admin-removed" and e.user_id in chat.admins:
                    chat.admins.remove(e.user_id)
                elif e.change == "owner":
                    chat.owner_id = e.user_id
                    if e.user_id not in chat.admins:
                        chat.admins.append(e.user_id)
                admins_changed(chat, e)
                changed.add(chat.id)
            elif isinstance(e, ChatUpdated):
                chat = chats.get(e.chat_id)
                if chat is None:
                    continue  # a chat this read model never saw created
                chat.title, chat.description = e.title, e.description
                ops.feed.add(e, ServerEvent.CHAT_UPDATED, ChatAdded(chat=chat.wire()),
                             chat_id=chat.id)
                changed.add(chat.id)
            elif isinstance(e, MessageReported):
                ops.reports.append(ReportRow(e.report_id, e.chat_id, e.message_id,
                                             e.reporter_id, e.reason, e.at))
        ops.info.extend(chats[c].info() for c in sorted(changed))
        for key, ban in bans.items():
            ops.bans.append(ban) if ban is not None else ops.unbans.append(key)
        for key, mute in mutes.items():
            ops.mutes.append(mute) if mute is not None else ops.unmutes.append(key)
        return ops
