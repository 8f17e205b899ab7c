"""The use cases of messages over time: edit, delete, react, pin. Each loads the
chat (snapshotted and cached) and the message (a few events, snapshotted too),
and a reaction the reacting user's own small aggregate: no command replays a
stream that grows with the message's audience. Every command validates before it
changes anything; one that would change nothing stores nothing (its outcome has no
event, its ack no seq)."""

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from application.commands import _ids
from application.unit_of_work import UnitOfWork, last_event
from application.writer import Outcome, Reading
from domain.chat import Chat
from domain.errors import InvalidInput, NotFound
from domain.ids import parse_uuid
from domain.message import Message, check_emoji
from domain.reactions import Reactions


@dataclass(frozen=True)
class Changed:
    """The message a command concerned (its chat, id) and what it did."""

    chat_id: UUID
    message_id: UUID
    changed: bool


MessageCommand = Callable[[UnitOfWork], Outcome[Changed]]


def _chat_and_message(uow: UnitOfWork, chat_id: object, message_id: object
                      ) -> tuple[Chat, Message, int]:
    chat = uow.get(parse_uuid(chat_id, "chatId"), Chat, "chat")
    message_uuid = parse_uuid(message_id, "messageId")
    message = uow.find(message_uuid, Message)
    seq = uow.position_of(message_uuid)
    if message is None or message.chat_id != chat.id or seq is None:
        raise NotFound("message not found in this chat")
    return chat, message, seq


def _outcome(chat: Chat, message: Message, changed: bool, *aggregates: object) -> Outcome[Changed]:
    value = Changed(chat.id, message.id, changed)
    if not changed:
        return Outcome(value)
    touched = [a for a in aggregates if getattr(a, "pending_events", None)]
    return Outcome(value, last_event(touched[-1]))  # type: ignore[arg-type]


def _on_message(chat_id: object, message_id: object,
                act: Callable[[UnitOfWork, Chat, Message, int], tuple[bool, object]]
                ) -> MessageCommand:
    def run(uow: UnitOfWork) -> Outcome[Changed]:
        chat, message, seq = _chat_and_message(uow, chat_id, message_id)
        changed, aggregate = act(uow, chat, message, seq)
        return _outcome(chat, message, changed, aggregate)

    return Reading(run, _ids(chat_id, message_id))


def edit_message(user: str, chat_id: object, message_id: object, content: object
                 ) -> MessageCommand:
    def act(uow: UnitOfWork, chat: Chat, message: Message, seq: int) -> tuple[bool, object]:
        chat.require_write(user, datetime.now(UTC))  # editing is writing: not when muted
        return message.edit(user, content, chat.member_ids, seq), message

    return _on_message(chat_id, message_id, act)


def delete_message(user: str, chat_id: object, message_id: object) -> MessageCommand:
    def act(uow: UnitOfWork, chat: Chat, message: Message, seq: int) -> tuple[bool, object]:
        chat.require_member(user)
        return message.delete(user, chat.is_admin(user), seq), message

    return _on_message(chat_id, message_id, act)


def set_pin(user: str, chat_id: object, message_id: object, pinned: bool) -> MessageCommand:
    def act(uow: UnitOfWork, chat: Chat, message: Message, seq: int) -> tuple[bool, object]:
        chat.require_admin(user)
        done = message.pin(user, seq) if pinned else message.unpin(user, seq)
        return done, message

    return _on_message(chat_id, message_id, act)


def set_reaction(user: str, chat_id: object, message_id: object, emoji: object,
                 added: bool) -> MessageCommand:
    def run(uow: UnitOfWork) -> Outcome[Changed]:
        text = check_emoji(emoji)
        chat, message, _ = _chat_and_message(uow, chat_id, message_id)
        chat.require_write(user, datetime.now(UTC))
        message.require_not_deleted()
        reactions_id = Reactions.create_id(message.id, user)
        reactions = uow.find(reactions_id, Reactions)
        if reactions is None:
            if not added:
                return _outcome(chat, message, False)
            reactions = Reactions(chat_id=chat.id, message_id=message.id, user_id=user)
            uow.add(reactions)
        done = reactions.add(text) if added else reactions.remove(text)
        return _outcome(chat, message, done, reactions)

    reads = _ids(chat_id, message_id)
    with suppress(InvalidInput):
        reads.append(Reactions.create_id(parse_uuid(message_id, "messageId"), user))
    return Reading(run, reads)
