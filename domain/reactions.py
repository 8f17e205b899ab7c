"""Reactions of one user to one message: a small aggregate of its own, so a
reaction never loads (or grows) the message's stream, and a message with 1,000
reactions costs what a message with none costs. A user adds an emoji once: adding
it again, or removing one that is not there, stores nothing."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import reactions_aggregate_id


class Reactions(Aggregate):
    class Started(Aggregate.Created):
        class_version = 1
        chat_id: UUID
        message_id: UUID
        user_id: str

    class Added(Aggregate.Event):
        class_version = 1
        chat_id: UUID
        message_id: UUID
        user_id: str
        emoji: str

    class Removed(Aggregate.Event):
        class_version = 1
        chat_id: UUID
        message_id: UUID
        user_id: str
        emoji: str

    @event(Started)
    def __init__(self, chat_id: UUID, message_id: UUID, user_id: str) -> None:
        self.chat_id = chat_id
        self.message_id = message_id
        self.user_id = user_id
        self.emojis: list[str] = []

    @staticmethod
    def create_id(message_id: UUID, user_id: str) -> UUID:
        return reactions_aggregate_id(message_id, user_id)

    def add(self, emoji: str) -> bool:
        if emoji in self.emojis:
            return False
        self._added(chat_id=self.chat_id, message_id=self.message_id, user_id=self.user_id,
                    emoji=emoji)
        return True

    @event(Added)
    def _added(self, chat_id: UUID, message_id: UUID, user_id: str, emoji: str) -> None:
        self.emojis.append(emoji)

    def remove(self, emoji: str) -> bool:
        if emoji not in self.emojis:
            return False
        self._removed(chat_id=self.chat_id, message_id=self.message_id, user_id=self.user_id,
                      emoji=emoji)
        return True

    @event(Removed)
    def _removed(self, chat_id: UUID, message_id: UUID, user_id: str, emoji: str) -> None:
        self.emojis.remove(emoji)
