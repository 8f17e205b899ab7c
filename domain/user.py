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

    class Erased(Aggregate.Event):
        """What the user wrote is unreadable from now on (their data key is destroyed);
        they can no longer log in or use a token."""

        class_version = 1
        user_id: str

    @event(Registered)
    def __init__(
        self, user_id: str, password_hash: str | None, display_name: str | None,
        external: bool,
    ) -> None:
        self.user_id = user_id
        self.password_hash = password_hash
        self.display_name = display_name  # None once erased
        self.external = external
        self.erased = False

    def erase(self) -> bool:
        """False when already erased (nothing to store)."""
        if getattr(self, "erased", False):
            return False
        self._erased(user_id=self.user_id)
        return True

    @event(Erased)
    def _erased(self, user_id: str) -> None:
        self.erased = True
        self.password_hash = None
        self.display_name = None

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

    # Privacy settings (CONTRACT "Privacy and erasure"): both on until the user says
    # otherwise. Class defaults, so users stored before the setting existed read as on.
    read_receipts: bool = True
    last_seen: bool = True

    class PrivacyChanged(Aggregate.Event):
        """The user's privacy settings after the change (both, whichever changed)."""

        class_version = 1
        user_id: str
        read_receipts: bool
        last_seen: bool

    def change_privacy(self, read_receipts: object = None, last_seen: object = None) -> bool:
        """Applies the settings given (None: unchanged). False when nothing changes
        (nothing to store)."""
        for name, value in (("readReceipts", read_receipts), ("lastSeen", last_seen)):
            if value is not None and not isinstance(value, bool):
                raise InvalidInput(f"{name} must be true or false")
        if read_receipts is None and last_seen is None:
            raise InvalidInput("settings must name readReceipts and/or lastSeen")
        new_read = self.read_receipts if read_receipts is None else bool(read_receipts)
        new_seen = self.last_seen if last_seen is None else bool(last_seen)
        if (new_read, new_seen) == (self.read_receipts, self.last_seen):
            return False
        self._privacy_changed(user_id=self.user_id, read_receipts=new_read, last_seen=new_seen)
        return True

    @event(PrivacyChanged)
    def _privacy_changed(self, user_id: str, read_receipts: bool, last_seen: bool) -> None:
        self.read_receipts = read_receipts
        self.last_seen = last_seen
