"""The durable event store: an eventsourcing Application on SQLite or PostgreSQL."""

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Transcoder

from infrastructure.database_url import DatabaseLocation, PostgresLocation, SqliteLocation
from infrastructure.transcoder import MsgspecTranscoder


class ChatEventStore(Application[UUID]):
    name = "eschat"

    def construct_transcoder(self) -> Transcoder:
        transcoder = MsgspecTranscoder()
        self.register_transcodings(transcoder)
        return transcoder


class EphemeralEventStore(Application[UUID]):
    """In-memory (POPO) store for typing events: never a durable row per keystroke."""

    name = "eschat_ephemeral"


def event_store_env(location: DatabaseLocation) -> dict[str, str]:
    if isinstance(location, SqliteLocation):
        location.events_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(location.events_path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    assert isinstance(location, PostgresLocation)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": location.dbname,
        "POSTGRES_HOST": location.host,
        "POSTGRES_PORT": str(location.port),
        "POSTGRES_USER": location.user,
        "POSTGRES_PASSWORD": location.password,
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "8",
        "POSTGRES_LOCK_TIMEOUT": "10",
    }


def open_event_store(location: DatabaseLocation) -> ChatEventStore:
    return ChatEventStore(env=event_store_env(location))


def open_ephemeral_store() -> EphemeralEventStore:
    return EphemeralEventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def read_notifications(store: Application[UUID], after: int, limit: int) -> list[Notification]:
    return list(store.recorder.select_notifications(after + 1, limit))


def head_position(store: Application[UUID]) -> int:
    return store.recorder.max_notification_id() or 0


def to_event(store: Application[UUID], notification: Notification) -> Any:
    return store.mapper.to_domain_event(notification)


def postgres_channel(store: ChatEventStore) -> str | None:
    """The channel eventsourcing NOTIFYs on each insert (PostgreSQL only)."""
    return getattr(store.recorder, "channel_name", None)
