"""Erasure and retention, as the service does them (CONTRACT.md, "Privacy and erasure").

Erasing a user: destroy their data key (every sealed field of theirs is unreadable from
then on), null in place what they wrote before sealing existed, record User.Erased (the
projections null their messages in every read model), then compact the store's files.
A retention sweep: for each chat that keeps messages for N days (its own `retentionDays`,
else the server's default), null in place every personal field of its messages created
before now - N days and record Message.Expired on each."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application import commands
from application.ports import Shredder
from application.unit_of_work import UnitOfWork
from application.writer import Outcome
from domain.chat import Chat
from domain.errors import NotFound
from domain.ids import check_user_id
from domain.times import wire_time

T = TypeVar("T")
SWEEP_CHUNK = 500


class Erasure:
    _store: Application[UUID]
    shredder: Shredder | None

    async def _run(self, command: Callable[[UnitOfWork], Outcome[T]], wait: bool = True,
                   bulk: bool = False) -> Outcome[T]:
        raise NotImplementedError  # ChatService's

    async def sync(self) -> None:
        raise NotImplementedError  # ChatService's

    def _load_user(self, user_id: str) -> Any:
        raise NotImplementedError  # ChatService's

    def _shredder(self) -> Shredder:
        if self.shredder is None:
            raise RuntimeError("this node was built without a shredder")
        return self.shredder

    async def erase_user(self, user_id: str) -> None:
        """Idempotent: erasing twice stores nothing more."""
        check_user_id(user_id)
        if await asyncio.to_thread(self._load_user, user_id) is None:
            raise NotFound(f"user {user_id!r} not found")
        shredder = self._shredder()
        await self.sync()  # the read models know every message they wrote
        await asyncio.to_thread(shredder.destroy_key, user_id)
        await asyncio.to_thread(shredder.shred_author, user_id)
        await self._run(commands.erase_user(user_id))
        await asyncio.to_thread(shredder.compact)

    async def sweep_retention(self, now: datetime, default_days: int | None) -> int:
        """Erases the messages older than their chat keeps; how many."""
        shredder = self._shredder()
        await self.sync()
        erased = 0
        shortest = wire_time(now - timedelta(days=1))
        for chat_id in await asyncio.to_thread(shredder.chats_with_messages_before, shortest):
            days = await asyncio.to_thread(self._retention_of, chat_id)
            days = days if days is not None else default_days
            if days is None:
                continue
            before = wire_time(now - timedelta(days=days))
            ids = await asyncio.to_thread(shredder.messages_before, chat_id, before)
            for i in range(0, len(ids), SWEEP_CHUNK):
                chunk = ids[i:i + SWEEP_CHUNK]
                await asyncio.to_thread(shredder.shred_messages, chunk)
                await self._run(commands.expire_messages([UUID(m) for m in chunk]))
                erased += len(chunk)
        if erased:
            await asyncio.to_thread(shredder.compact)
        return erased

    def _retention_of(self, chat_id: str) -> int | None:
        try:
            chat: object = self._store.repository.get(UUID(chat_id))
        except AggregateNotFoundError:
            return None
        return chat.retention_days if isinstance(chat, Chat) else None
