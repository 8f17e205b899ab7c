"""The use cases of chats people run: direct chats, roles, moderation, invites,
blocks, reports. Each is "get, call, add" on a unit of work, like commands.py;
the rules live in the aggregates (domain/chat.py), so REST and Socket.IO apply
them the same way. Every command validates before it changes anything."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from application.commands import _ids, _require_user
from application.unit_of_work import UnitOfWork, last_event
from application.writer import Outcome, Reading
from domain.blocks import Blocks
from domain.chat import DIRECT, Chat, check_retention_days
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.ids import (
    blocks_aggregate_id,
    check_user_id,
    direct_chat_id,
    parse_uuid,
    user_aggregate_id,
)
from domain.message import Message
from domain.report import Report
from domain.times import wire_time

INVITE_CHAT_ID_LENGTH = 32  # an invite code starts with its chat's id (hex)

ChatCommand = Callable[[UnitOfWork], Outcome[Chat]]


def now() -> datetime:
    return datetime.now(UTC)


def _changed(chat: Chat) -> Outcome[Chat]:
    return Outcome(chat, last_event(chat) if chat.pending_events else None)


@dataclass(frozen=True)
class Opened:
    chat: Chat
    created: bool


def open_direct(opener: str, other: object) -> Callable[[UnitOfWork], Outcome[Opened]]:
    """The one direct chat of the pair: created by whoever opens it first. Two opens
    at once (two nodes) both try to create the same aggregate id: the store lets one
    win and the writer reruns the other, which then finds it."""

    def run(uow: UnitOfWork) -> Outcome[Opened]:
        other_id = check_user_id(other, "memberIds")
        if other_id == opener:
            raise InvalidInput("memberIds must name one other user for a direct chat")
        _require_user(uow, opener)
        _require_user(uow, other_id)
        their_blocks = uow.find(blocks_aggregate_id(other_id), Blocks)
        if their_blocks is not None and their_blocks.has_blocked(opener):
            raise Forbidden("blocked")
        existing = uow.find(direct_chat_id(opener, other_id), Chat)
        if existing is not None:
            return Outcome(Opened(existing, created=False))
        chat = Chat.open_direct(opener, other_id)
        mine = uow.find(blocks_aggregate_id(opener), Blocks)
        if mine is not None and mine.has_blocked(other_id):
            chat.block(other_id, by=opener)  # a block made before the chat holds in it
        uow.add(chat)
        return Outcome(Opened(chat, created=True), chat.pending_events[0])

    reads: list[UUID] = []
    if isinstance(other, str) and other:
        reads = [direct_chat_id(opener, other), blocks_aggregate_id(opener),
                 blocks_aggregate_id(other), user_aggregate_id(opener), user_aggregate_id(other)]
    return Reading(run, reads)


def _on_chat(chat_id: object, act: Callable[[UnitOfWork, Chat], None]) -> ChatCommand:
    def run(uow: UnitOfWork) -> Outcome[Chat]:
        chat = uow.get(parse_uuid(chat_id, "chatId"), Chat, "chat")
        act(uow, chat)
        return _changed(chat)

    return Reading(run, _ids(chat_id))


def leave(actor: str, chat_id: object) -> ChatCommand:
    return _on_chat(chat_id, lambda uow, chat: chat.leave(actor))


def update_chat(actor: str, chat_id: object, title: str | None,
                description: str | None, retention: tuple[object] | None = None
                ) -> ChatCommand:
    """`retention`: (retentionDays,) when the request names it (null included)."""
    def act(uow: UnitOfWork, chat: Chat) -> None:
        if retention is not None:  # validated before anything changes
            chat.require_admin(actor)
            check_retention_days(retention[0])
        chat.update(actor, title, description)
        if retention is not None:
            chat.set_retention(actor, retention[0])

    return _on_chat(chat_id, act)


def name_admin(actor: str, chat_id: object, user_id: str) -> ChatCommand:
    return _on_chat(chat_id, lambda uow, chat: chat.name_admin(check_user_id(user_id), actor))


def remove_admin(actor: str, chat_id: object, user_id: str) -> ChatCommand:
    return _on_chat(chat_id, lambda uow, chat: chat.remove_admin(check_user_id(user_id), actor))


def hand_over(actor: str, chat_id: object, user_id: object) -> ChatCommand:
    return _on_chat(chat_id, lambda uow, chat: chat.hand_over(check_user_id(user_id), actor))


def ban(actor: str, chat_id: object, user_id: object, reason: str | None) -> ChatCommand:
    def act(uow: UnitOfWork, chat: Chat) -> None:
        chat.require_admin(actor)
        _require_user(uow, check_user_id(user_id))
        chat.ban(str(user_id), actor, reason)

    return _on_chat(chat_id, act)


def unban(actor: str, chat_id: object, user_id: str) -> ChatCommand:
    return _on_chat(chat_id, lambda uow, chat: chat.unban(check_user_id(user_id), actor))


def mute(actor: str, chat_id: object, user_id: object, until: datetime | None) -> ChatCommand:
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)  # times without a zone are UTC, like createdAt
    return _on_chat(chat_id, lambda uow, chat: chat.mute(check_user_id(user_id), actor, until,
                                                         now()))


def unmute(actor: str, chat_id: object, user_id: str) -> ChatCommand:
    return _on_chat(chat_id, lambda uow, chat: chat.unmute(check_user_id(user_id), actor))


def may_write(user: str, chat_id: object) -> ChatCommand:
    """Checks only (typing is ephemeral): the same rule as a send, on the writer's
    current chat, so a mute or a block holds for typing at once."""
    return _on_chat(chat_id, lambda uow, chat: chat.require_write(user, now()))


@dataclass(frozen=True)
class Invite:
    chat: Chat
    code: str
    expires_at: str | None
    max_uses: int | None


def create_invite(actor: str, chat_id: object, ttl_seconds: int | None,
                  max_uses: int | None) -> Callable[[UnitOfWork], Outcome[Invite]]:
    def run(uow: UnitOfWork) -> Outcome[Invite]:
        chat = uow.get(parse_uuid(chat_id, "chatId"), Chat, "chat")
        code = chat.create_invite(actor, ttl_seconds, max_uses, now())
        expires_at, most, _ = chat.invites[code]
        return Outcome(Invite(chat, code, expires_at, most), last_event(chat))

    return Reading(run, _ids(chat_id))


def revoke_invite(actor: str, chat_id: object, code: str) -> ChatCommand:
    return _on_chat(chat_id, lambda uow, chat: chat.revoke_invite(code, actor))


def invite_chat_id(code: object) -> UUID:
    if not isinstance(code, str) or len(code) <= INVITE_CHAT_ID_LENGTH:
        raise NotFound("invite not found")
    try:
        return UUID(hex=code[:INVITE_CHAT_ID_LENGTH])
    except ValueError:
        raise NotFound("invite not found") from None


def accept_invite(user: str, code: str) -> ChatCommand:
    def run(uow: UnitOfWork) -> Outcome[Chat]:
        chat = uow.find(invite_chat_id(code), Chat)
        if chat is None:
            raise NotFound("invite not found")
        chat.accept_invite(code, user, now())
        return _changed(chat)

    try:
        reads = [invite_chat_id(code)]
    except NotFound:
        reads = []
    return Reading(run, reads)


def set_block(blocker: str, user_id: object, blocked: bool
              ) -> Callable[[UnitOfWork], Outcome[None]]:
    """Blocks (or unblocks) a user, and mirrors it into their direct chat if there is one."""

    def run(uow: UnitOfWork) -> Outcome[None]:
        target = check_user_id(user_id)
        if target == blocker:
            raise InvalidInput("userId must not be yourself: you cannot block yourself")
        _require_user(uow, target)
        blocks = uow.find(blocks_aggregate_id(blocker), Blocks)
        if blocks is None:
            if not blocked:
                return Outcome(None)
            blocks = Blocks(user_id=blocker)
            uow.add(blocks)
        chat = uow.find(direct_chat_id(blocker, target), Chat)
        if blocked:
            blocks.block(target, wire_time(now()))
            if chat is not None:
                chat.block(target, by=blocker)
        else:
            blocks.unblock(target)
            if chat is not None:
                chat.unblock(target, by=blocker)
        changed = [a for a in (blocks, chat) if a is not None and a.pending_events]
        return Outcome(None, changed[-1].pending_events[-1] if changed else None)

    reads: list[UUID] = [blocks_aggregate_id(blocker)]
    if isinstance(user_id, str) and user_id:
        reads += [direct_chat_id(blocker, user_id), user_aggregate_id(user_id)]
    return Reading(run, reads)


def report_message(reporter: str, chat_id: object, message_id: object, reason: object
                   ) -> Callable[[UnitOfWork], Outcome[Report]]:
    def run(uow: UnitOfWork) -> Outcome[Report]:
        chat = uow.get(parse_uuid(chat_id, "chatId"), Chat, "chat")
        chat.require_member(reporter)
        message = uow.find(parse_uuid(message_id, "messageId"), Message)
        if message is None or message.chat_id != chat.id:
            raise NotFound("message not found in this chat")
        report = Report.file(chat.id, message.id, reporter, reason)
        uow.add(report)
        return Outcome(report, last_event(report))

    return Reading(run, _ids(chat_id, message_id))


def is_direct(chat: Chat) -> bool:
    return chat.kind == DIRECT
