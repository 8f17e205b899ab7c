"""The deployment tests share the Kafka tests' broker fixture."""

from tests.integration.kafka.conftest import kafka_broker

__all__ = ["kafka_broker"]
