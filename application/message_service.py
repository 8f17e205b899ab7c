"""The service side of messages over time (ChatService inherits it): edits,
deletes, reactions and pins go through the group-commit writer; the thread pages,
pins and the audit trail come from the history read model."""

import asyncio
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from application import message_commands as mc
from application.ports import ReadModels
from application.unit_of_work import UnitOfWork
from application.views import ChatView, EditView, MessageView
from application.writer import Outcome
from domain.errors import NotFound
from domain.ids import parse_uuid

T = TypeVar("T")


class MessagesOverTime:
    _read: ReadModels

    async def _run(self, command: Callable[[UnitOfWork], Outcome[T]], wait: bool = True,
                   bulk: bool = False) -> Outcome[T]:
        raise NotImplementedError  # ChatService's

    async def chat_for(self, user_id: str, chat_id: object) -> ChatView:
        raise NotImplementedError  # ChatService's

    async def _message_change(self, command: mc.MessageCommand, wait: bool) -> int | None:
        """The change's seq (its store position); None when it changed nothing."""
        outcome = await self._run(command, wait=wait)
        return outcome.position

    async def edit_message(self, user: str, chat_id: object, message_id: object,
                           content: object, wait: bool = True) -> int | None:
        return await self._message_change(
            mc.edit_message(user, chat_id, message_id, content), wait)

    async def delete_message(self, user: str, chat_id: object, message_id: object,
                             wait: bool = True) -> int | None:
        return await self._message_change(mc.delete_message(user, chat_id, message_id), wait)

    async def set_reaction(self, user: str, chat_id: object, message_id: object,
                           emoji: object, added: bool, wait: bool = True) -> int | None:
        return await self._message_change(
            mc.set_reaction(user, chat_id, message_id, emoji, added), wait)

    async def set_pin(self, user: str, chat_id: object, message_id: object, pinned: bool,
                      wait: bool = True) -> int | None:
        return await self._message_change(mc.set_pin(user, chat_id, message_id, pinned), wait)

    async def message_of(self, user: str, chat_id: object, message_id: object) -> MessageView:
        """A message of one of the user's chats, as history shows it."""
        chat = await self.chat_for(user, chat_id)
        view = await asyncio.to_thread(self._read.message, parse_uuid(message_id, "messageId"))
        if view is None or view.chat_id != chat.id:
            raise NotFound("message not found in this chat")
        return view

    async def edits(self, user: str, chat_id: object, message_id: object) -> list[EditView]:
        """The audit trail: every version, the original first (members only)."""
        view = await self.message_of(user, chat_id, message_id)
        return await asyncio.to_thread(self._read.edits, UUID(view.id))

    async def pins(self, user: str, chat_id: object) -> list[MessageView]:
        chat = await self.chat_for(user, chat_id)
        return await asyncio.to_thread(self._read.pins, UUID(chat.id))
