"""What a real server cannot easily be made to do, checked on the Litestar app
in process: a store that stops answering (/ready 503, commands 503) and the
Kafka relay's lag in /metrics."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from infrastructure.settings import load_settings
from interfaces.rest.app import create_app
from interfaces.server import Container, bootstrap

SECRET = "test-secret-" + "x" * 32


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    settings = load_settings({}, database_url=f"sqlite:///{tmp_path}/eschat.db",
                             data_dir=str(tmp_path), jwt_secret=SECRET, node_id="t")
    c = bootstrap(settings)
    c.start()
    yield c
    c.close()


class FakeRelay:
    def start(self) -> None: ...
    def stop(self) -> None: ...

    def lag(self) -> int:
        return 7


def test_ready_is_503_when_the_store_does_not_answer(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        assert client.get("/ready").status_code == 200

        def broken() -> int:
            raise OSError("connection refused")

        container.store.recorder.max_notification_id = broken  # type: ignore[method-assign]
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert "connection refused" in response.json()["error"]
        assert client.get("/health").status_code == 200  # alive, just not ready


def test_commands_answer_503_when_the_writer_cannot_store(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        token = container.tokens.issue("alice", 60)
        headers = {"Authorization": f"Bearer {token}"}
        container.writer.stop()  # what a shutting-down server does
        response = client.post("/api/auth/register",
                               json={"username": "bob", "password": "long enough"})
        assert response.status_code == 503
        assert response.json()["code"] == "unavailable"
        assert response.headers["retry-after"] == "1"
        assert client.get("/api/chats", headers=headers).status_code == 401  # unknown alice


def test_metrics_report_the_kafka_relay_lag_when_a_relay_runs(container: Container) -> None:
    container.relay = FakeRelay()
    with TestClient(create_app(container)) as client:
        text = client.get("/metrics").text
    assert "eschat_kafka_relay_lag_events 7.0" in text


def test_ready_reports_the_kafka_relay_lag_when_a_relay_runs(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        assert client.get("/ready").json()["kafkaRelayLag"] is None
        container.relay = FakeRelay()
        assert client.get("/ready").json()["kafkaRelayLag"] == 7


def test_events_stop_at_the_slowest_projection(container: Container) -> None:
    """A feed row a fast projection wrote beyond a slower one's position is held
    back: returning it would let a client's cursor pass rows still to come."""
    with TestClient(create_app(container)) as client:
        token = container.tokens.issue("alice", 60)
        headers = {"Authorization": f"Bearer {token}"}
        body = {"username": "alice", "password": "long enough"}
        assert client.post("/api/auth/register", json=body).status_code == 201
        chat = client.post("/api/chats", json={"memberIds": []}, headers=headers).json()
        events = client.get("/api/events", headers=headers).json()
        assert [e["type"] for e in events] == ["chat-added"]
        head = events[-1]["position"]
        container.runner.stop()  # nothing else writes the read models from here on
        with container.db.transaction() as tx:
            tx.execute("UPDATE rm_tracking SET position = %s WHERE name = 'history'",
                       (head + 2,))
            tx.execute(
                "INSERT INTO rm_feed (position, source, ordinal, chat_id, user_id, type,"
                " payload, occurred_at) VALUES (%s, 'history', 0, %s, NULL, 'new-message',"
                " '{}', '2020-01-01T00:00:00.000Z')", (head + 2, chat["id"]))
        assert client.get("/api/events", headers=headers).json() == events
        with container.db.transaction() as tx:
            tx.execute("UPDATE rm_tracking SET position = %s", (head + 2,))
        later = client.get("/api/events", params={"after": head}, headers=headers).json()
        assert [e["position"] for e in later] == [head + 2]
