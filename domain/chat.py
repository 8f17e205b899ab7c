"""The Chat aggregate: a group or a direct chat, its members, roles and moderation.
It lives as long as the chat, so the store snapshots it and the writer keeps it
cached (see DESIGN.md, "Costs that must not grow"): bans, mutes and invites are
state of the chat, never a stream a command replays.

Roles: the owner (the creator of a group) and admins (the owner among them) run
a group; a direct chat has two members, no owner and no admins. When the owner
goes (leaves, or was removed by a release before roles), the oldest admin becomes
owner, else the oldest member: a rule of applying `MemberRemoved`, so stores of
earlier releases get the same owners as the read models derive (and a snapshot
of an earlier release is upcast to it, `upcast_v1_v2`)."""

import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.errors import Forbidden, Gone, InvalidInput, NotFound
from domain.ids import direct_chat_id
from domain.times import parse_time, wire_time

MAX_TITLE = 200
MAX_DESCRIPTION = 1000
MAX_REASON = 500
MAX_MEMBERS = 1000
MAX_INVITE_TTL_S = 365 * 24 * 3600
MAX_INVITE_USES = 100_000
MAX_RETENTION_DAYS = 36_500  # a hundred years: beyond that, keep forever (null)


def check_retention_days(days: object) -> int | None:
    """Whole days from 1 to MAX_RETENTION_DAYS, or None (the server's default)."""
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not (
            1 <= days <= MAX_RETENTION_DAYS):
        raise InvalidInput(f"retentionDays must be a whole number of days from 1 to "
                           f"{MAX_RETENTION_DAYS}, or null")
    return days
GROUP, DIRECT = "group", "direct"


def _text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string")
    if len(value) > limit:
        raise InvalidInput(f"{field} must be at most {limit} characters")
    return value.strip()


def next_owner(owner: str | None, leaving: str, admins: list[str],
               members: list[str]) -> str | None:
    """Who owns the chat once `leaving` is gone: the owner stays unless it is them;
    then the oldest admin, else the oldest member (None when nobody is left)."""
    if owner != leaving:
        return owner
    for admin in admins:
        if admin != leaving:
            return admin
    for member in members:
        if member != leaving:
            return member
    return None


class Chat(Aggregate):
    class_version = 2  # snapshots of version 1 had no roles: upcast_v1_v2

    class Created(Aggregate.Created):
        class_version = 2
        title: str
        member_ids: list[str]
        created_by: str
        kind: str
        description: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["kind"] = GROUP
            state["description"] = ""

    class MemberAdded(Aggregate.Event):
        class_version = 1
        user_id: str
        added_by: str

    class MemberRemoved(Aggregate.Event):
        """The member left (`removed_by` is them) or an admin removed them."""

        class_version = 1
        user_id: str
        removed_by: str

    class Updated(Aggregate.Event):
        class_version = 1
        title: str
        description: str
        by: str

    class RetentionChanged(Aggregate.Event):
        """Messages older than `days` are erased by the sweep (None: the server's default)."""

        class_version = 1
        days: int | None
        by: str

    class AdminAdded(Aggregate.Event):
        class_version = 1
        user_id: str
        by: str

    class AdminRemoved(Aggregate.Event):
        class_version = 1
        user_id: str
        by: str

    class OwnerChanged(Aggregate.Event):
        class_version = 1
        user_id: str
        by: str

    class Banned(Aggregate.Event):
        """Removes the user if a member, and keeps them out until unbanned."""

        class_version = 1
        user_id: str
        by: str
        reason: str

    class Unbanned(Aggregate.Event):
        class_version = 1
        user_id: str
        by: str

    class Muted(Aggregate.Event):
        class_version = 1
        user_id: str
        by: str
        until: str | None  # wire time (ISO, ms, Z); None: until unmuted

    class Unmuted(Aggregate.Event):
        class_version = 1
        user_id: str
        by: str

    class InviteCreated(Aggregate.Event):
        class_version = 1
        code: str
        expires_at: str | None
        max_uses: int | None
        by: str

    class InviteRevoked(Aggregate.Event):
        class_version = 1
        code: str
        by: str

    class InviteAccepted(Aggregate.Event):
        class_version = 1
        code: str
        user_id: str

    class Blocked(Aggregate.Event):
        """In a direct chat: `by` blocked `user_id`, who may no longer write in it."""

        class_version = 1
        user_id: str
        by: str

    class Unblocked(Aggregate.Event):
        class_version = 1
        user_id: str
        by: str

    @event(Created)
    def __init__(self, title: str, member_ids: list[str], created_by: str,
                 kind: str = GROUP, description: str = "") -> None:
        self.title = title
        self.description = description
        self.kind = kind
        self.member_ids = list(member_ids)  # in the order they joined
        self.created_by = created_by
        self.owner_id: str | None = created_by if kind == GROUP else None
        self.admins: list[str] = [created_by] if kind == GROUP else []
        self.banned: dict[str, str] = {}  # user -> who banned them
        self.mutes: dict[str, str | None] = {}  # user -> until (wire time) or None
        self.invites: dict[str, list[Any]] = {}  # code -> [expires_at, max_uses, uses]
        self.blocked: list[str] = []  # direct chats: members the other one blocked

    @staticmethod
    def create_id(member_ids: list[str], kind: str = GROUP) -> UUID:
        if kind == DIRECT:
            return direct_chat_id(member_ids[0], member_ids[1])
        return uuid4()

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot from before roles: the creator owns the chat if still a member,
        else the oldest member (what replaying its events gives)."""
        members = state["member_ids"]
        owner = state["created_by"] if state["created_by"] in members else (
            members[0] if members else None)
        state.update(kind=GROUP, description="", owner_id=owner,
                     admins=[owner] if owner else [], banned={}, mutes={}, invites={},
                     blocked=[])

    @classmethod
    def start(cls, title: str | None, member_ids: list[str], created_by: str,
              description: str | None = None) -> "Chat":
        title = _text(title or "", "title", MAX_TITLE)
        description = _text(description or "", "description", MAX_DESCRIPTION)
        members = list(dict.fromkeys([created_by, *member_ids]))
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"a chat has at most {MAX_MEMBERS} members")
        return cls(title=title, member_ids=members, created_by=created_by, kind=GROUP,
                   description=description)

    @classmethod
    def open_direct(cls, opener: str, other: str) -> "Chat":
        if opener == other:
            raise InvalidInput("memberIds must name one other user for a direct chat")
        return cls(title="", member_ids=[opener, other], created_by=opener, kind=DIRECT,
                   description="")

    # -- who may do what ---------------------------------------------------------
    def is_member(self, user_id: str) -> bool:
        return user_id in self.member_ids

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins and self.is_member(user_id)

    def is_muted(self, user_id: str, at: datetime) -> bool:
        if user_id not in self.mutes:
            return False
        until = self.mutes[user_id]
        return until is None or at < parse_time(until)

    def may_write(self, user_id: str, at: datetime) -> bool:
        """Send, react, type: a member, not muted at `at` (mutes expire by themselves),
        not blocked by the other member of a direct chat."""
        return (self.is_member(user_id) and not self.is_muted(user_id, at)
                and user_id not in self.blocked)

    def require_member(self, user_id: str) -> None:
        if not self.is_member(user_id):
            raise Forbidden("not a member of this chat")

    def require_write(self, user_id: str, at: datetime) -> None:
        self.require_member(user_id)
        if user_id in self.blocked:
            raise Forbidden("blocked")
        if self.is_muted(user_id, at):
            raise Forbidden("muted")

    def require_admin(self, user_id: str) -> None:
        self.require_member(user_id)
        if self.kind == DIRECT:
            raise Forbidden("a direct chat has no admins")
        if not self.is_admin(user_id):
            raise Forbidden("only admins may do this")

    def require_owner(self, user_id: str) -> None:
        self.require_admin(user_id)
        if user_id != self.owner_id:
            raise Forbidden("only the owner may do this")

    def _require_power_over(self, target: str, actor: str) -> None:
        """An admin acts on members; only the owner on other admins; nobody on the owner."""
        if target == self.owner_id:
            raise Forbidden("nobody may do this to the owner")
        if target in self.admins and actor != self.owner_id:
            raise Forbidden("only the owner may do this to an admin")

    # -- membership --------------------------------------------------------------
    def add_member(self, user_id: str, added_by: str) -> None:
        self.require_admin(added_by)
        if user_id in self.banned:
            raise Forbidden("this user is banned from the chat")
        if self.is_member(user_id):
            return  # adding a member twice is a no-op, not an error
        if len(self.member_ids) >= MAX_MEMBERS:
            raise InvalidInput(f"a chat has at most {MAX_MEMBERS} members")
        self._member_added(user_id=user_id, added_by=added_by)

    @event(MemberAdded)
    def _member_added(self, user_id: str, added_by: str) -> None:
        self.member_ids.append(user_id)

    def remove_member(self, user_id: str, removed_by: str) -> None:
        if user_id == removed_by:
            self.leave(user_id)
            return
        self.require_admin(removed_by)
        self._require_power_over(user_id, removed_by)
        if not self.is_member(user_id):
            return
        self._member_removed(user_id=user_id, removed_by=removed_by)

    def leave(self, user_id: str) -> None:
        self.require_member(user_id)
        if self.kind == DIRECT:
            raise Forbidden("a direct chat cannot be left")
        self._member_removed(user_id=user_id, removed_by=user_id)

    @event(MemberRemoved)
    def _member_removed(self, user_id: str, removed_by: str) -> None:
        self._drop_member(user_id)

    def _drop_member(self, user_id: str) -> None:
        if user_id not in self.member_ids:
            return
        self.member_ids.remove(user_id)
        owner = next_owner(self.owner_id, user_id, self.admins, self.member_ids)
        self.admins = [a for a in self.admins if a != user_id]
        if owner is not None and owner not in self.admins:
            self.admins.insert(0, owner)
        self.owner_id = owner
        self.mutes.pop(user_id, None)

    # -- roles and details ---------------------------------------------------------
    def update(self, by: str, title: str | None, description: str | None) -> None:
        self.require_admin(by)
        new_title = self.title if title is None else _text(title, "title", MAX_TITLE)
        new_description = (self.description if description is None
                           else _text(description, "description", MAX_DESCRIPTION))
        if (new_title, new_description) != (self.title, self.description):
            self._updated(title=new_title, description=new_description, by=by)

    @event(Updated)
    def _updated(self, title: str, description: str, by: str) -> None:
        self.title, self.description = title, description

    @property
    def retention_days(self) -> int | None:
        return getattr(self, "_retention_days", None)  # snapshots from before: none

    def set_retention(self, by: str, days: object) -> bool:
        self.require_admin(by)
        checked = check_retention_days(days)
        if checked == self.retention_days:
            return False
        self._retention_changed(days=checked, by=by)
        return True

    @event(RetentionChanged)
    def _retention_changed(self, days: int | None, by: str) -> None:
        self._retention_days = days

    def name_admin(self, user_id: str, by: str) -> None:
        self.require_owner(by)
        if not self.is_member(user_id):
            raise InvalidInput("userId must be a member of this chat")
        if user_id not in self.admins:
            self._admin_added(user_id=user_id, by=by)

    @event(AdminAdded)
    def _admin_added(self, user_id: str, by: str) -> None:
        self.admins.append(user_id)

    def remove_admin(self, user_id: str, by: str) -> None:
        self.require_owner(by)
        if user_id == self.owner_id:
            raise InvalidInput("userId must not be the owner: hand over ownership first")
        if user_id in self.admins:
            self._admin_removed(user_id=user_id, by=by)

    @event(AdminRemoved)
    def _admin_removed(self, user_id: str, by: str) -> None:
        self.admins.remove(user_id)

    def hand_over(self, user_id: str, by: str) -> None:
        self.require_owner(by)
        if not self.is_member(user_id):
            raise InvalidInput("userId must be a member of this chat")
        if user_id != self.owner_id:
            self._owner_changed(user_id=user_id, by=by)

    @event(OwnerChanged)
    def _owner_changed(self, user_id: str, by: str) -> None:
        self.owner_id = user_id  # the previous owner stays an admin
        if user_id not in self.admins:
            self.admins.append(user_id)

    # -- moderation ----------------------------------------------------------------
    def ban(self, user_id: str, by: str, reason: str | None) -> None:
        self.require_admin(by)
        if user_id == by:
            raise InvalidInput("userId must not be yourself: you cannot ban yourself")
        self._require_power_over(user_id, by)
        text = _text(reason or "", "reason", MAX_REASON)
        if user_id not in self.banned:
            self._banned(user_id=user_id, by=by, reason=text)

    @event(Banned)
    def _banned(self, user_id: str, by: str, reason: str) -> None:
        self.banned[user_id] = by
        self._drop_member(user_id)

    def unban(self, user_id: str, by: str) -> None:
        self.require_admin(by)
        if user_id in self.banned:
            self._unbanned(user_id=user_id, by=by)

    @event(Unbanned)
    def _unbanned(self, user_id: str, by: str) -> None:
        del self.banned[user_id]

    def mute(self, user_id: str, by: str, until: datetime | None, at: datetime) -> None:
        self.require_admin(by)
        if not self.is_member(user_id):
            raise InvalidInput("userId must be a member of this chat")
        self._require_power_over(user_id, by)
        if until is not None and until <= at:
            raise InvalidInput("until must be in the future")
        self._muted(user_id=user_id, by=by, until=wire_time(until) if until else None)

    @event(Muted)
    def _muted(self, user_id: str, by: str, until: str | None) -> None:
        self.mutes[user_id] = until

    def unmute(self, user_id: str, by: str) -> None:
        self.require_admin(by)
        if user_id in self.mutes:
            self._unmuted(user_id=user_id, by=by)

    @event(Unmuted)
    def _unmuted(self, user_id: str, by: str) -> None:
        del self.mutes[user_id]

    # -- invites -------------------------------------------------------------------
    def create_invite(self, by: str, ttl_seconds: int | None, max_uses: int | None,
                      at: datetime) -> str:
        self.require_admin(by)
        if ttl_seconds is not None and not 1 <= ttl_seconds <= MAX_INVITE_TTL_S:
            raise InvalidInput(f"ttlSeconds must be between 1 and {MAX_INVITE_TTL_S}")
        if max_uses is not None and not 1 <= max_uses <= MAX_INVITE_USES:
            raise InvalidInput(f"maxUses must be between 1 and {MAX_INVITE_USES}")
        # The chat's id in the code: accepting it needs no lookup, on any node.
        code = self.id.hex + secrets.token_urlsafe(12)
        expires = wire_time(at + timedelta(seconds=ttl_seconds)) if ttl_seconds else None
        self._invite_created(code=code, expires_at=expires, max_uses=max_uses, by=by)
        return code

    @event(InviteCreated)
    def _invite_created(self, code: str, expires_at: str | None, max_uses: int | None,
                        by: str) -> None:
        self.invites[code] = [expires_at, max_uses, 0]

    def revoke_invite(self, code: str, by: str) -> None:
        self.require_admin(by)
        if code not in self.invites:
            raise NotFound("invite not found")
        self._invite_revoked(code=code, by=by)

    @event(InviteRevoked)
    def _invite_revoked(self, code: str, by: str) -> None:
        del self.invites[code]

    def accept_invite(self, code: str, user_id: str, at: datetime) -> None:
        """Checked and counted on the writer against the chat's current version, so
        two accepts of the last use (on two nodes too) cannot both join."""
        if code not in self.invites:
            raise NotFound("invite not found")
        if user_id in self.banned:
            raise Forbidden("you are banned from this chat")
        if self.is_member(user_id):
            return
        expires_at, max_uses, uses = self.invites[code]
        if expires_at is not None and at >= parse_time(expires_at):
            raise Gone("this invite has expired")
        if max_uses is not None and uses >= max_uses:
            raise Gone("this invite has been used up")
        if len(self.member_ids) >= MAX_MEMBERS:
            raise InvalidInput(f"a chat has at most {MAX_MEMBERS} members")
        self._invite_accepted(code=code, user_id=user_id)

    @event(InviteAccepted)
    def _invite_accepted(self, code: str, user_id: str) -> None:
        self.invites[code][2] += 1
        self.member_ids.append(user_id)

    # -- blocks (direct chats) -----------------------------------------------------
    def block(self, user_id: str, by: str) -> None:
        if self.kind == DIRECT and self.is_member(by) and user_id not in self.blocked:
            self._blocked(user_id=user_id, by=by)

    @event(Blocked)
    def _blocked(self, user_id: str, by: str) -> None:
        self.blocked.append(user_id)

    def unblock(self, user_id: str, by: str) -> None:
        if user_id in self.blocked:
            self._unblocked(user_id=user_id, by=by)

    @event(Unblocked)
    def _unblocked(self, user_id: str, by: str) -> None:
        self.blocked.remove(user_id)

    def other_member(self, user_id: str) -> str | None:
        """In a direct chat: the member who is not `user_id`."""
        others = [m for m in self.member_ids if m != user_id]
        return others[0] if self.kind == DIRECT and others else None


def chat_of(event: Any) -> UUID | None:
    """The chat an event concerns: Chat events are the chat's own, every other chat
    event names it (`chat_id`); None for events of no chat (users, connections)."""
    if type(event).__qualname__.startswith("Chat."):
        own: UUID = event.originator_id
        return own
    chat_id = getattr(event, "chat_id", None)
    return chat_id if isinstance(chat_id, UUID) else None
