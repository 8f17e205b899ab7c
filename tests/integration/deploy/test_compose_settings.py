"""The compose file's eschat settings, run without Docker: `eschat serve` with
that environment, service host names mapped to loopback (PostgreSQL -> the test
database, kafka:9092 -> a Tansu broker), a free port instead of 4000."""

import asyncio
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import httpx

from tests.conftest import ServerProcess
from tests.integration.deploy.compose import healthcheck_command, load_compose, service_environment
from tests.integration.kafka.broker import TansuBroker, create_topic, read_topic


def compose_settings_on_loopback(postgres_url: str, bootstrap: str) -> dict[str, str]:
    env = service_environment(load_compose(), "eschat", {"ESCHAT_JWT_SECRET": "k" * 64})
    assert urlparse(env["ESCHAT_DATABASE_URL"]).hostname == "postgres"
    assert env["ESCHAT_KAFKA_BOOTSTRAP"] == "kafka:9092"
    env["ESCHAT_DATABASE_URL"] = postgres_url
    env["ESCHAT_KAFKA_BOOTSTRAP"] = bootstrap
    env["ESCHAT_HOST"] = "127.0.0.1"
    # port and data dir come from the server fixture
    return {k[len("ESCHAT_"):].lower(): v for k, v in env.items()
            if k not in ("ESCHAT_PORT", "ESCHAT_DATA_DIR")}


def run_healthcheck(server: ServerProcess) -> int:
    env = dict(server.env, ESCHAT_PORT=str(server.port))
    return subprocess.run(healthcheck_command(), env=env, capture_output=True,
                          timeout=30).returncode


async def test_compose_environment_serves_and_relays_rest_messages_to_kafka(
    server_factory: Callable[..., ServerProcess], postgres_url: str, kafka_broker: TansuBroker,
    tmp_path: Path,
) -> None:
    settings = compose_settings_on_loopback(postgres_url, kafka_broker.bootstrap)
    topic = settings["kafka_topic"]
    await create_topic(kafka_broker.bootstrap, topic)
    database_url = settings.pop("database_url")
    server = server_factory(database_url, **settings)
    assert run_healthcheck(server) == 0

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for user in ("alice", "bob"):
            response = await http.post("/api/auth/register",
                                       json={"username": user, "password": "pw-" + user * 3})
            assert response.status_code == 201, response.text
        login = await http.post("/api/auth/login",
                                json={"username": "alice", "password": "pw-" + "alice" * 3})
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['accessToken']}"
        chats = []
        for title in ("one", "two"):
            response = await http.post("/api/chats", json={"title": title, "memberIds": ["bob"]})
            assert response.status_code == 201, response.text
            chats.append(response.json()["id"])
        for i in range(6):
            response = await http.post(f"/api/chats/{chats[i % 2]}/messages",
                                       json={"content": f"m{i}", "clientMessageId": f"c{i}"})
            assert response.status_code == 201, response.text
        # a retried send stores nothing new, so Kafka sees nothing new either
        retry = await http.post(f"/api/chats/{chats[0]}/messages",
                                json={"content": "m0", "clientMessageId": "c0"})
        assert retry.status_code == 201

        records = await read_topic(
            kafka_broker.bootstrap, topic,
            until=lambda rs: sum(r.value["type"] == "Message.Sent" for r in rs) >= 6)
        for _ in range(100):
            metrics = (await http.get("/metrics")).text
            if "eschat_kafka_relay_lag_events 0.0" in metrics:
                break
            await asyncio.sleep(0.1)
        assert "eschat_kafka_relay_lag_events 0.0" in metrics

    sent = [r for r in records if r.value["type"] == "Message.Sent"]
    assert Counter(r.value["chatId"] for r in sent) == {chats[0]: 3, chats[1]: 3}
    assert all(r.key == r.value["chatId"].encode() for r in sent)
    assert [r.value["data"]["content"] for r in sent if r.value["chatId"] == chats[0]] == \
        ["m0", "m2", "m4"]

    server.stop()
    assert run_healthcheck(server) != 0
