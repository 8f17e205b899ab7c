"""The Chat aggregate: a titled room with members. It lives as long as the chat,
so the store snapshots it and the writer keeps it cached (see DESIGN.md, "Costs
that must not grow")."""

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Forbidden, InvalidInput

MAX_TITLE = 200
MAX_MEMBERS = 1000


class Chat(Aggregate):
    class Created(Aggregate.Created):
        class_version = 1
        title: str
        member_ids: list[str]
        created_by: str

    class MemberAdded(Aggregate.Event):
        class_version = 1
        user_id: str
        added_by: str

    class MemberRemoved(Aggregate.Event):
        class_version = 1
        user_id: str
        removed_by: str

    @event(Created)
    def __init__(self, title: str, member_ids: list[str], created_by: str) -> None:
        self.title = title
        self.member_ids = list(member_ids)
        self.created_by = created_by

    @classmethod
    def start(cls, title: str | None, member_ids: list[str], created_by: str) -> "Chat":
        title = (title or "").strip()
        if len(title) > MAX_TITLE:
            raise InvalidInput(f"title must be at most {MAX_TITLE} characters")
        members = list(dict.fromkeys([created_by, *member_ids]))
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"a chat has at most {MAX_MEMBERS} members")
        return cls(title=title, member_ids=members, created_by=created_by)

    def is_member(self, user_id: str) -> bool:
        return user_id in self.member_ids

    def require_member(self, user_id: str) -> None:
        if not self.is_member(user_id):
            raise Forbidden("not a member of this chat")

    def add_member(self, user_id: str, added_by: str) -> None:
        self.require_member(added_by)
        if self.is_member(user_id):
            return  # adding a member twice is a no-op, not an error
        if len(self.member_ids) >= MAX_MEMBERS:
            raise InvalidInput(f"a chat has at most {MAX_MEMBERS} members")
        self._member_added(user_id=user_id, added_by=added_by)

    @event(MemberAdded)
    def _member_added(self, user_id: str, added_by: str) -> None:
        self.member_ids.append(user_id)

    def remove_member(self, user_id: str, removed_by: str) -> None:
        self.require_member(removed_by)
        if not self.is_member(user_id):
            return
        self._member_removed(user_id=user_id, removed_by=removed_by)

    @event(MemberRemoved)
    def _member_removed(self, user_id: str, removed_by: str) -> None:
        self.member_ids.remove(user_id)


def chat_of(event: Any) -> UUID | None:
    """The chat an event concerns: Chat events are the chat's own, every other chat
    event names it (`chat_id`); None for events of no chat (users, connections)."""
    if isinstance(event, Chat.Created | Chat.MemberAdded | Chat.MemberRemoved):
        own: UUID = event.originator_id
        return own
    chat_id = getattr(event, "chat_id", None)
    return chat_id if isinstance(chat_id, UUID) else None
