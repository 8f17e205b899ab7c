"""docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine."""

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import msgspec
import pytest

from infrastructure.settings import Settings
from tests.integration.deploy.compose import (
    COMPOSE,
    ROOT,
    dockerfile_instructions,
    load_compose,
    service_environment,
)

CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))
ENV = {"ESCHAT_JWT_SECRET": "s" * 64}


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec",
                           str(path)], capture_output=True, text=True, timeout=60)


def test_compose_file_follows_the_compose_specification() -> None:
    result = validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validation_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("condition: service_healthy",
                                                  "condition: when_it_feels_like_it", 1))
    assert validate(broken).returncode != 0


def test_compose_runs_postgres_kafka_in_kraft_mode_and_eschat_from_the_dockerfile() -> None:
    services = load_compose()["services"]
    assert set(services) == {"postgres", "kafka", "eschat"}
    assert services["postgres"]["image"].startswith("postgres:")
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    kafka_env = kafka["environment"]
    assert set(kafka_env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{kafka_env['KAFKA_NODE_ID']}@kafka:9093"
    assert "zookeeper" not in str(kafka).lower()
    eschat = services["eschat"]
    assert eschat["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert {name for name, dep in eschat["depends_on"].items()
            if dep["condition"] == "service_healthy"} == {"postgres", "kafka"}
    for name in ("postgres", "kafka"):
        assert services[name]["healthcheck"]["test"]


def test_eschat_environment_uses_only_contract_settings_and_reaches_the_other_services() -> None:
    compose = load_compose()
    env = service_environment(compose, "eschat", ENV)
    fields = {"ESCHAT_" + f.upper() for f in Settings.__struct_fields__}
    assert set(env) <= fields, set(env) - fields
    settings = msgspec.convert({k[len("ESCHAT_"):].lower(): v for k, v in env.items()},
                               Settings, strict=False)
    db = urlparse(settings.database_url)
    postgres_env = compose["services"]["postgres"]["environment"]
    assert db.scheme == "postgresql" and db.hostname == "postgres" and db.port == 5432
    assert db.username == postgres_env["POSTGRES_USER"]
    assert db.path.lstrip("/") == postgres_env["POSTGRES_DB"]
    kafka_env = compose["services"]["kafka"]["environment"]
    assert f"PLAINTEXT://{settings.kafka_bootstrap}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert settings.kafka_topic == "chat-messages"
    assert settings.jwt_secret == ENV["ESCHAT_JWT_SECRET"]
    published = compose["services"]["eschat"]["ports"]
    assert f"{settings.port}:{settings.port}" in published


def test_compose_refuses_to_start_without_a_jwt_secret() -> None:
    with pytest.raises(ValueError, match="ESCHAT_JWT_SECRET"):
        service_environment(load_compose(), "eschat", {})


def test_dockerfile_slim_base_non_root_user_healthcheck_on_health() -> None:
    instructions = dockerfile_instructions()
    bases = [rest.split()[0] for word, rest in instructions if word == "FROM"]
    assert bases and all(b.startswith("python:") and b.endswith("-slim") for b in bases)
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    last_user_at = max(i for i, (w, _) in enumerate(instructions) if w == "USER")
    last_from_at = max(i for i, (w, _) in enumerate(instructions) if w == "FROM")
    assert last_user_at > last_from_at  # the final image runs as that user
    (health,) = [rest for word, rest in instructions if word == "HEALTHCHECK"]
    assert "/health" in health
    (cmd,) = [rest for word, rest in instructions if word == "CMD"]
    assert cmd == '["eschat", "serve"]'


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "data", "tests"} <= ignored
    copied = [rest.split()[0] for word, rest in dockerfile_instructions() if word == "COPY"
              and not rest.startswith("--from")]
    assert copied and not any(path in ignored for path in copied)
