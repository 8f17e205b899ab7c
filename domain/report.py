"""A report of a message to the chat's admins: an aggregate of its own, created
once, so reports never grow the chat's stream."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

MAX_REASON = 500


class Report(Aggregate):
    class Filed(Aggregate.Created):
        class_version = 1
        chat_id: UUID
        message_id: UUID
        reporter_id: str
        reason: str

    @event(Filed)
    def __init__(self, chat_id: UUID, message_id: UUID, reporter_id: str, reason: str) -> None:
        self.chat_id = chat_id
        self.message_id = message_id
        self.reporter_id = reporter_id
        self.reason = reason

    @classmethod
    def file(cls, chat_id: UUID, message_id: UUID, reporter_id: str, reason: object) -> "Report":
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidInput(f"reason must be 1-{MAX_REASON} characters")
        return cls(chat_id=chat_id, message_id=message_id, reporter_id=reporter_id,
                   reason=reason.strip())
