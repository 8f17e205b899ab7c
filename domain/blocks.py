"""A user's blocks: one small aggregate per user (its id derived from the user id).
A blocked user cannot open a direct chat with the blocker, nor write in one
(the direct chat mirrors the block: domain/chat.py `Chat.block`)."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import blocks_aggregate_id


class Blocks(Aggregate):
    class Started(Aggregate.Created):
        class_version = 1
        user_id: str

    class Blocked(Aggregate.Event):
        class_version = 1
        user_id: str
        at: str

    class Unblocked(Aggregate.Event):
        class_version = 1
        user_id: str

    @event(Started)
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.blocked: dict[str, str] = {}  # blocked user -> since (wire time)

    @staticmethod
    def create_id(user_id: str) -> UUID:
        return blocks_aggregate_id(user_id)

    def has_blocked(self, user_id: str) -> bool:
        return user_id in self.blocked

    def block(self, user_id: str, at: str) -> None:
        if user_id not in self.blocked:
            self._blocked(user_id=user_id, at=at)

    @event(Blocked)
    def _blocked(self, user_id: str, at: str) -> None:
        self.blocked[user_id] = at

    def unblock(self, user_id: str) -> None:
        if user_id in self.blocked:
            self._unblocked(user_id=user_id)

    @event(Unblocked)
    def _unblocked(self, user_id: str) -> None:
        del self.blocked[user_id]
