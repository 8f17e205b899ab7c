"""The service side of chats people run (ChatService inherits it): commands go
through the group-commit writer, lists come from the roster read model, a user's
blocks from their own aggregate."""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application import chat_commands as cc
from application.ports import ReadModels
from application.unit_of_work import UnitOfWork
from application.views import BanView, BlockView, ChatView, InviteView, MuteView, ReportView
from application.writer import Outcome
from domain.blocks import Blocks
from domain.chat import Chat
from domain.errors import Forbidden
from domain.ids import blocks_aggregate_id
from domain.times import wire_time

T = TypeVar("T")


class ChatsPeopleRun:
    _read: ReadModels
    _store: Application[UUID]

    async def _run(self, command: Callable[[UnitOfWork], Outcome[T]], wait: bool = True,
                   bulk: bool = False) -> Outcome[T]:
        raise NotImplementedError  # ChatService's

    @staticmethod
    def _chat_view(chat: Chat) -> ChatView:
        raise NotImplementedError  # ChatService's

    async def chat_for(self, user_id: str, chat_id: object) -> ChatView:
        raise NotImplementedError  # ChatService's

    async def _change(self, command: Callable[[UnitOfWork], Outcome[Chat]]) -> ChatView:
        outcome = await self._run(command)
        return self._chat_view(outcome.value)

    # -- direct chats ------------------------------------------------------------
    async def open_direct(self, opener: str, other: object) -> tuple[ChatView, bool]:
        """The pair's direct chat and whether this call created it."""
        outcome = await self._run(cc.open_direct(opener, other))
        return self._chat_view(outcome.value.chat), outcome.value.created

    # -- membership, roles, details ----------------------------------------------
    async def leave(self, actor: str, chat_id: object) -> ChatView:
        return await self._change(cc.leave(actor, chat_id))

    async def update_chat(self, actor: str, chat_id: object, title: str | None,
                          description: str | None,
                          retention: tuple[object] | None = None) -> ChatView:
        return await self._change(cc.update_chat(actor, chat_id, title, description,
                                                 retention))

    async def name_admin(self, actor: str, chat_id: object, user_id: str) -> ChatView:
        return await self._change(cc.name_admin(actor, chat_id, user_id))

    async def remove_admin(self, actor: str, chat_id: object, user_id: str) -> ChatView:
        return await self._change(cc.remove_admin(actor, chat_id, user_id))

    async def hand_over(self, actor: str, chat_id: object, user_id: str) -> ChatView:
        return await self._change(cc.hand_over(actor, chat_id, user_id))

    # -- moderation --------------------------------------------------------------
    async def ban(self, actor: str, chat_id: object, user_id: str, reason: str | None) -> None:
        await self._change(cc.ban(actor, chat_id, user_id, reason))

    async def unban(self, actor: str, chat_id: object, user_id: str) -> None:
        await self._change(cc.unban(actor, chat_id, user_id))

    async def mute(self, actor: str, chat_id: object, user_id: str,
                   until: datetime | None) -> None:
        await self._change(cc.mute(actor, chat_id, user_id, until))

    async def unmute(self, actor: str, chat_id: object, user_id: str) -> None:
        await self._change(cc.unmute(actor, chat_id, user_id))

    async def check_may_write(self, user: str, chat_id: object) -> str:
        """Raises Forbidden unless `user` may write (type) in the chat; its id."""
        outcome = await self._run(cc.may_write(user, chat_id), wait=False)
        return str(outcome.value.id)

    async def _admin_view(self, actor: str, chat_id: object) -> ChatView:
        chat = await self.chat_for(actor, chat_id)
        if actor not in chat.admins:
            raise Forbidden("only admins may do this")
        return chat

    async def bans(self, actor: str, chat_id: object) -> list[BanView]:
        chat = await self._admin_view(actor, chat_id)
        return await asyncio.to_thread(self._read.bans, UUID(chat.id))

    async def mutes(self, actor: str, chat_id: object, now: datetime) -> list[MuteView]:
        chat = await self._admin_view(actor, chat_id)
        return await asyncio.to_thread(self._read.mutes, UUID(chat.id), wire_time(now))

    async def reports(self, actor: str, chat_id: object) -> list[ReportView]:
        chat = await self._admin_view(actor, chat_id)
        return await asyncio.to_thread(self._read.reports, UUID(chat.id))

    async def report(self, reporter: str, chat_id: object, message_id: object,
                     reason: object) -> ReportView:
        outcome = await self._run(cc.report_message(reporter, chat_id, message_id, reason))
        r = outcome.value
        return ReportView(id=str(r.id), message_id=str(r.message_id), reporter_id=r.reporter_id,
                          reason=r.reason, at=wire_time(r.created_on))

    # -- invites -----------------------------------------------------------------
    async def create_invite(self, actor: str, chat_id: object, ttl_seconds: int | None,
                            max_uses: int | None) -> InviteView:
        outcome = await self._run(cc.create_invite(actor, chat_id, ttl_seconds, max_uses))
        invite = outcome.value
        return InviteView(code=invite.code, expires_at=invite.expires_at,
                          max_uses=invite.max_uses)

    async def revoke_invite(self, actor: str, chat_id: object, code: str) -> None:
        await self._change(cc.revoke_invite(actor, chat_id, code))

    async def accept_invite(self, user: str, code: str) -> ChatView:
        return await self._change(cc.accept_invite(user, code))

    # -- blocks ------------------------------------------------------------------
    async def set_block(self, blocker: str, user_id: str, blocked: bool) -> None:
        await self._run(cc.set_block(blocker, user_id, blocked))

    async def blocks(self, user: str) -> list[BlockView]:
        found = await asyncio.to_thread(self._load_blocks, user)
        if found is None:
            return []
        return [BlockView(user_id=u, at=at) for u, at in sorted(found.blocked.items())]

    def _load_blocks(self, user: str) -> Blocks | None:
        try:
            aggregate: Any = self._store.repository.get(blocks_aggregate_id(user))
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, Blocks) else None

