"""The User aggregate. Its id is derived from the user id, so ids are unique."""

import re
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.ids import check_user_id, user_aggregate_id

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MAX_DISPLAY_NAME = 100


def check_username(username: object) -> str:
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise InvalidInput("username must be 1-64 letters, digits or _ . @ -")
    return username


class User(Aggregate):
    class Registered(Aggregate.Created):
        class_version = 1
        user_id: str
        password_hash: str | None
        display_name: str
        external: bool

    @event(Registered)
    def __init__(
        self, user_id: str, password_hash: str | None, display_name: str, external: bool
    ) -> None:
        self.user_id = user_id
        self.password_hash = password_hash
        self.display_name = display_name
        self.external = external

    @staticmethod
    def create_id(user_id: str) -> UUID:
        return user_aggregate_id(user_id)

    @classmethod
    def register(
        cls, user_id: str, password_hash: str | None, display_name: str | None, external: bool
    ) -> "User":
        check_user_id(user_id)
        name = (display_name or user_id).strip()
        if not name or len(name) > MAX_DISPLAY_NAME:
            raise InvalidInput(f"displayName must be 1-{MAX_DISPLAY_NAME} characters")
        return cls(
            user_id=user_id, password_hash=password_hash, display_name=name, external=external
        )
