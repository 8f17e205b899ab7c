"""Shared fixtures: backends (SQLite file, PostgreSQL `test` database), a real
`eschat serve` process on a free port, and tokens."""

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.ports import free_port


def worker_database(url: str) -> str:
    """Under pytest-xdist (`-n 2`) each worker gets a database of its own (`test_gw0`, ...),
    so one worker's resets, advisory locks and NOTIFY channels never reach another's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, _, name = url.partition("?")[0].rpartition("/")
    database = f"{name}_{worker}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        known = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if known.fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # the other worker
                conn.execute(f'CREATE DATABASE "{database}"')
    return f"{base}/{database}"


PG_URL = worker_database(
    os.environ.get("ESCHAT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
# Processes the tests start (benches, the fixture maker) use the same database.
os.environ["ESCHAT_TEST_PG_URL"] = PG_URL
ROOT = Path(__file__).resolve().parent.parent


def reset_postgres(url: str = PG_URL) -> None:
    """Drops every table of the test database's public schema (a fresh store)."""
    with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in rows:
            conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        funcs = conn.execute(
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public'"
        ).fetchall()
        for (name,) in funcs:
            conn.execute(f'DROP FUNCTION IF EXISTS "{name}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/eschat.db"


@pytest.fixture
def postgres_url() -> str:
    reset_postgres()
    return PG_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test once per backend, each time on an empty store."""
    if request.param == "postgres":
        reset_postgres()
        return PG_URL
    return f"sqlite:///{tmp_path}/eschat.db"


class ServerProcess:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, env: dict[str, str],
                 log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.env = env
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def eschat(self, *args: str) -> str:
        """Runs an `eschat` CLI command against the same settings."""
        out = subprocess.run([sys.executable, "-m", "interfaces.cli", *args], env=self.env,
                             cwd=self.env["ESCHAT_DATA_DIR"], capture_output=True, text=True,
                             timeout=60, check=True)
        return out.stdout.strip()

    def token(self, user: str) -> str:
        return self.eschat("token", user)

    def stop(self, sig: int = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def start_server(data_dir: Path, database_url: str, port: int | None = None,
                 **settings: str) -> ServerProcess:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCHAT_")}
    env.update({
        "ESCHAT_DATABASE_URL": database_url,
        "ESCHAT_PORT": str(port),
        "ESCHAT_HOST": "127.0.0.1",
        "ESCHAT_DATA_DIR": str(data_dir),
        "ESCHAT_JWT_SECRET": "test-secret-" + "x" * 32,
        "PYTHONPATH": str(ROOT),
    })
    env.update({"ESCHAT_" + k.upper(): v for k, v in settings.items()})
    log_path = data_dir / f"server-{port}.log"
    log_file = log_path.open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "interfaces.cli", "serve"], env=env,
                            cwd=data_dir, stdout=log_file, stderr=subprocess.STDOUT)
    server = ServerProcess(proc, port, env, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start:\n{server.log()}")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Starts real `eschat serve` processes; all are stopped after the test."""
    started: list[ServerProcess] = []

    def make(database_url: str, port: int | None = None, data_dir: Path | None = None,
             **settings: str) -> ServerProcess:
        folder = data_dir or tmp_path / f"node{len(started)}"
        server = start_server(folder, database_url, port=port, **settings)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess], database_url: str) -> ServerProcess:
    """One running server per backend (SQLite and PostgreSQL)."""
    return server_factory(database_url)
