"""The Message aggregate: sent once, then delivered to and read by members."""

from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.ids import message_id_for

MAX_CONTENT = 4000


def check_content(content: object) -> str:
    if not isinstance(content, str):
        raise InvalidInput("content must be a string")
    if not content.strip():
        raise InvalidInput("content must not be empty")
    if len(content) > MAX_CONTENT:
        raise InvalidInput(f"content must be at most {MAX_CONTENT} characters")
    return content


class Message(Aggregate):
    @event("Sent")
    def __init__(
        self, chat_id: UUID, sender_id: str, content: str, client_message_id: str | None
    ) -> None:
        self.chat_id = chat_id
        self.sender_id = sender_id
        self.content = content
        self.client_message_id = client_message_id
        self.delivered_to: list[str] = []
        self.read_by: list[str] = []

    @staticmethod
    def create_id(sender_id: str, client_message_id: str | None) -> UUID:
        if client_message_id is None:
            return uuid4()
        return message_id_for(sender_id, client_message_id)

    def deliver_to(self, user_id: str) -> bool:
        """Records delivery once per user; returns False when nothing changed."""
        if user_id == self.sender_id or user_id in self.delivered_to:
            return False
        self._delivered(user_id=user_id)
        return True

    @event("Delivered")
    def _delivered(self, user_id: str) -> None:
        self.delivered_to.append(user_id)

    def read_by_user(self, user_id: str) -> bool:
        """Records a read once per user; reading implies delivery."""
        if user_id == self.sender_id or user_id in self.read_by:
            return False
        self._read(user_id=user_id)
        return True

    @event("Read")
    def _read(self, user_id: str) -> None:
        self.read_by.append(user_id)
        if user_id not in self.delivered_to:
            self.delivered_to.append(user_id)
