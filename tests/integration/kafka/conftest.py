"""Fixtures of the Kafka relay tests: a Tansu broker on a free loopback port."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.kafka.broker import TansuBroker


@pytest.fixture
def kafka_broker(tmp_path: Path) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path / "tansu")
    broker.start()
    yield broker
    broker.stop()
