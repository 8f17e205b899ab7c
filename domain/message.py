"""The Message aggregate: sent once. Receipts are not events of the message any
more (a room of 1,000 gave it 2,000): they are high-water marks per member and
chat (domain/receipts.py). `Delivered` and `Read` stay declared so that messages
stored before that change still load, and their receipts still count."""

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
    class Sent(Aggregate.Created):
        class_version = 1
        chat_id: UUID
        sender_id: str
        content: str
        client_message_id: str | None

    class Delivered(Aggregate.Event):
        """Legacy (release 37b8bd6 and before): one receipt on the message."""

        class_version = 1
        user_id: str

    class Read(Aggregate.Event):
        """Legacy (release 37b8bd6 and before): one read on the message."""

        class_version = 1
        user_id: str

    @event(Sent)
    def __init__(
        self, chat_id: UUID, sender_id: str, content: str, client_message_id: str | None
    ) -> None:
        self.chat_id = chat_id
        self.sender_id = sender_id
        self.content = content
        self.client_message_id = client_message_id

    @staticmethod
    def create_id(sender_id: str, client_message_id: str | None) -> UUID:
        if client_message_id is None:
            return uuid4()
        return message_id_for(sender_id, client_message_id)

    @event(Delivered)
    def _delivered(self, user_id: str) -> None:
        """Old receipts change nothing the writer needs: the read models count them."""

    @event(Read)
    def _read(self, user_id: str) -> None:
        pass
