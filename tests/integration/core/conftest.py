"""An in-process eschat (store, writer, projections, service) per backend."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.settings import load_settings
from interfaces.server import Container, bootstrap


def make_container(database_url: str, data_dir: Path) -> Container:
    settings = load_settings({}, database_url=database_url, data_dir=str(data_dir),
                             jwt_secret="test-secret-" + "x" * 32, node_id="test-node")
    return bootstrap(settings)


@pytest.fixture
def container(database_url: str, tmp_path: Path) -> Iterator[Container]:
    c = make_container(database_url, tmp_path)
    c.start()
    yield c
    c.close()
