"""Typing indicators: domain events too, but ephemeral (kept in memory only)."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import typing_aggregate_id

TYPING_EXPIRES_SECONDS = 6.0


class Typing(Aggregate):
    """Whether one user is typing in one chat."""

    class Started(Aggregate.Created):
        class_version = 1
        chat_id: UUID
        user_id: str

    class Restarted(Aggregate.Event):
        class_version = 1

    class Stopped(Aggregate.Event):
        class_version = 1

    @event(Started)
    def __init__(self, chat_id: UUID, user_id: str) -> None:
        self.chat_id = chat_id
        self.user_id = user_id
        self.typing = True

    @staticmethod
    def create_id(chat_id: UUID, user_id: str) -> UUID:
        return typing_aggregate_id(chat_id, user_id)

    def start(self) -> None:
        self._restarted()

    @event(Restarted)
    def _restarted(self) -> None:
        self.typing = True

    def stop(self) -> None:
        if self.typing:
            self._stopped()

    @event(Stopped)
    def _stopped(self) -> None:
        self.typing = False
