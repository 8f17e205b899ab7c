"""Receipts as high-water marks: one small aggregate per member and chat holds
"delivered up to seq" and "read up to seq". A receipt is an event of that
aggregate, applied without loading the message, and only when it moves a mark:
acking an earlier message again stores nothing. Reading implies delivery."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import receipts_aggregate_id


class Receipts(Aggregate):
    class Started(Aggregate.Created):
        class_version = 1
        chat_id: UUID
        user_id: str

    class Delivered(Aggregate.Event):
        """`user_id` has every message of `chat_id` up to `seq` (this one: `message_id`
        by `sender_id`); `members` is the chat's size then, which decides who is told."""

        class_version = 1
        chat_id: UUID
        user_id: str
        message_id: UUID
        sender_id: str
        seq: int
        members: int

    class Read(Aggregate.Event):
        class_version = 1
        chat_id: UUID
        user_id: str
        message_id: UUID
        sender_id: str
        seq: int
        members: int

    @event(Started)
    def __init__(self, chat_id: UUID, user_id: str) -> None:
        self.chat_id = chat_id
        self.user_id = user_id
        self.delivered_seq = 0
        self.read_seq = 0

    @staticmethod
    def create_id(chat_id: UUID, user_id: str) -> UUID:
        return receipts_aggregate_id(chat_id, user_id)

    def deliver(self, message_id: UUID, sender_id: str, seq: int, members: int) -> bool:
        """Returns False when the mark already covers `seq` (nothing to store)."""
        if seq <= self.delivered_seq:
            return False
        self._delivered(chat_id=self.chat_id, user_id=self.user_id, message_id=message_id,
                        sender_id=sender_id, seq=seq, members=members)
        return True

    @event(Delivered)
    def _delivered(self, chat_id: UUID, user_id: str, message_id: UUID, sender_id: str,
                   seq: int, members: int) -> None:
        self.delivered_seq = seq

    def read(self, message_id: UUID, sender_id: str, seq: int, members: int) -> bool:
        if seq <= self.read_seq:
            return False
        self._read(chat_id=self.chat_id, user_id=self.user_id, message_id=message_id,
                   sender_id=sender_id, seq=seq, members=members)
        return True

    @event(Read)
    def _read(self, chat_id: UUID, user_id: str, message_id: UUID, sender_id: str,
              seq: int, members: int) -> None:
        self.read_seq = seq
        self.delivered_seq = max(self.delivered_seq, seq)
