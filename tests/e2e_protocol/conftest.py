"""A conformance server process shared by the real-client tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.serverproc import ConformanceServer, start_server


@pytest.fixture(scope="module")
def sio_server() -> Iterator[ConformanceServer]:
    # Longer heartbeats than the reference config: real clients answer pings, but a
    # busy CI machine should not turn a slow pong into a flaky test.
    server = start_server("--ping-interval", "1000", "--ping-timeout", "2000",
                          "--connect-timeout", "5000")
    yield server
    server.stop()
