"""The durable event store: an eventsourcing Application on SQLite or PostgreSQL."""

import logging
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import (
    BaseAggregate,
    DomainEventProtocol,
    MutableOrImmutableAggregate,
    Snapshot,
)
from eventsourcing.persistence import Mapper, Notification, Recording, Transcoder

from domain.blocks import Blocks
from domain.chat import Chat
from domain.message import Message
from domain.presence import Node
from domain.reactions import Reactions
from domain.receipts import Receipts
from infrastructure.database_url import DatabaseLocation, PostgresLocation, SqliteLocation
from infrastructure.sealing import Keyring, SealedAsJson, SealingMapper, open_key_store
from infrastructure.transcoder import MsgspecTranscoder

log = logging.getLogger(__name__)


# Aggregates that live long get a snapshot every this many events, so loading one
# reads at most a snapshot and this many events (a chat and its membership; a
# member's receipt marks in a chat; a node id restarted many times).
SNAPSHOT_INTERVAL = 100
# A message (edits, pins) and a user's reactions to it: few events as a rule, but an
# edit or a reaction must cost the same after many.
MESSAGE_SNAPSHOT_INTERVAL = 20


class ChatEventStore(Application[UUID]):
    name = "eschat"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[UUID]], int]] = {
        Chat: SNAPSHOT_INTERVAL, Receipts: SNAPSHOT_INTERVAL, Node: SNAPSHOT_INTERVAL,
        Blocks: SNAPSHOT_INTERVAL, Message: MESSAGE_SNAPSHOT_INTERVAL,
        Reactions: MESSAGE_SNAPSHOT_INTERVAL,
    }

    def __init__(self, env: dict[str, str], keyring: Keyring) -> None:
        self.keyring = keyring
        super().__init__(env=env)

    def construct_transcoder(self) -> Transcoder:
        transcoder = MsgspecTranscoder()
        self.register_transcodings(transcoder)
        transcoder.register(SealedAsJson())
        return transcoder

    def construct_mapper(self) -> Mapper[UUID]:
        """Personal fields sealed with their author's key (infrastructure/sealing.py)."""
        return SealingMapper(self.construct_transcoder(), self.keyring)

    def save(self, *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
             **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save, with our aggregates' events collected directly: its
        `collect_events` checks each object against two runtime Protocols, ~29 us per
        aggregate, on the writer thread for every aggregate of every batch."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            else:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings: list[Recording[UUID]] = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _record(self, processing_event: ProcessingEvent[UUID]) -> Any:
        # An edit is sealed with its message's sender, which the edit does not name.
        mapper = self.mapper
        assert isinstance(mapper, SealingMapper)
        mapper.saving({i: a.sender_id for i, a in processing_event.aggregates.items()
                       if isinstance(a, Message)})
        return super()._record(processing_event)

    def close(self) -> None:
        super().close()
        self.keyring.close()

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshots from the aggregates just saved, as they are in memory: the
        library's default reloads each one from the store, on the writer thread. A
        snapshot that fails to store is only a missed shortcut: the events are saved."""
        if self.snapshots is None:
            return
        aggregates = processing_event.aggregates
        due = set()
        for e in processing_event.events:
            aggregate = aggregates.get(e.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate else None
            if interval and e.originator_version % interval == 0:
                due.add(e.originator_id)
        taken = [Snapshot.take(aggregates[i]) for i in due]
        if taken:
            try:
                self.snapshots.put(taken)
            except Exception:
                log.exception("could not store snapshots; loading stays correct, only slower")


class EphemeralEventStore(Application[UUID]):
    """In-memory (POPO) store for typing events: never a durable row per keystroke."""

    name = "eschat_ephemeral"


def event_store_env(location: DatabaseLocation) -> dict[str, str]:
    if isinstance(location, SqliteLocation):
        location.events_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": "infrastructure.sqlite_recorder:CheckingSQLiteRecorder",
            "SQLITE_DBNAME": str(location.events_path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    assert isinstance(location, PostgresLocation)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "infrastructure.postgres_recorder:ColumnsPostgresRecorder",
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
    return ChatEventStore(event_store_env(location), Keyring(open_key_store(location)))


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
