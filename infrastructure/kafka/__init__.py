"""The Kafka relay (transactional outbox): every stored event reaches the topic."""

from uuid import UUID

from eventsourcing.application import Application

from infrastructure.database_url import DatabaseLocation, PostgresLocation
from infrastructure.kafka.relay import KafkaRelay, RelayConfig
from infrastructure.kafka.tracking import FileLeaderLock, LeaderLock, PostgresLeaderLock
from infrastructure.readmodels.database import Database
from infrastructure.settings import Settings

__all__ = ["KafkaRelay", "RelayConfig", "build_relay"]


def build_relay(settings: Settings, store: Application[UUID], db: Database,
                location: DatabaseLocation, **options: object) -> KafkaRelay:
    """A relay for `settings.kafka_bootstrap`; nothing connects before start()."""
    assert settings.kafka_bootstrap, "ESCHAT_KAFKA_BOOTSTRAP is not set"
    config = RelayConfig(bootstrap=settings.kafka_bootstrap, topic=settings.kafka_topic,
                         client_id=f"eschat-relay-{settings.effective_node_id}",
                         **options)  # type: ignore[arg-type]
    lock: LeaderLock
    if isinstance(location, PostgresLocation):
        lock = PostgresLeaderLock(location.conninfo, config.name + ":" + config.topic)
    else:
        lock = FileLeaderLock(location.readmodels_path.with_name(
            location.readmodels_path.name + f".{config.name}.lock"))
    return KafkaRelay(store, db, config, lock)
