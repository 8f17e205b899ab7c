"""Privacy settings (ChatService inherits this): `readReceipts` and `lastSeen` are
events of the User aggregate, read back from the store, so every node answers the
same. The read models follow them (application/projections/history.py, presence.py)."""

import asyncio
from collections.abc import Callable
from typing import TypeVar

from application.unit_of_work import UnitOfWork, last_event
from application.views import PrivacySettingsView
from application.writer import Outcome, Reading
from domain.errors import NotFound
from domain.ids import check_user_id, user_aggregate_id
from domain.user import User

T = TypeVar("T")


def change_privacy(user_id: str, read_receipts: object, last_seen: object
                   ) -> Callable[[UnitOfWork], Outcome[User]]:
    def run(uow: UnitOfWork) -> Outcome[User]:
        check_user_id(user_id)
        user = uow.get(user_aggregate_id(user_id), User, f"user {user_id!r}")
        changed = user.change_privacy(read_receipts, last_seen)
        return Outcome(user, last_event(user) if changed else None)

    return Reading(run, [user_aggregate_id(user_id)])


def settings_of(user: User) -> PrivacySettingsView:
    return PrivacySettingsView(read_receipts=user.read_receipts, last_seen=user.last_seen)


class PrivacySettings:
    async def _run(self, command: Callable[[UnitOfWork], Outcome[T]], wait: bool = True,
                   bulk: bool = False) -> Outcome[T]:
        raise NotImplementedError  # ChatService's

    def _load_user(self, user_id: str) -> User | None:
        raise NotImplementedError  # ChatService's

    async def privacy(self, user_id: str) -> PrivacySettingsView:
        user = await asyncio.to_thread(self._load_user, user_id)
        if user is None:
            raise NotFound("user not found")
        return settings_of(user)

    async def change_privacy(self, user_id: str, read_receipts: object = None,
                             last_seen: object = None) -> PrivacySettingsView:
        """Stores the change (nothing when it changes nothing) and answers once the
        read models follow it: the next receipt or presence query honours it."""
        outcome = await self._run(change_privacy(user_id, read_receipts, last_seen))
        return settings_of(outcome.value)
