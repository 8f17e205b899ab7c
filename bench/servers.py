"""The servers under test: each started as a subprocess on a free port, with the
same CPU pinning and file limit, and a way to give the load generator its
clients (users, tokens, chats for eschat; a room list in `auth` for the peers)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from tests.ports import free_port  # below the ephemeral range: see there

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bench" / "peers" / "node"
SERVERS = ("eschat-sqlite", "eschat-postgres", "node-socketio", "node-socketio-pg",
           "python-socketio")
JWT_SECRET = "bench-secret-" + "x" * 32


class BenchError(RuntimeError):
    """A setup problem to report to the user as one clear line."""


def reset_postgres(url: str) -> None:
    """Drops every table and function of the bench database's public schema."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for (table,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
                conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
            for (name,) in conn.execute(
                    "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = 'public'").fetchall():
                conn.execute(f'DROP FUNCTION IF EXISTS "{name}" CASCADE')
    except psycopg.OperationalError as e:
        raise BenchError(f"cannot reach PostgreSQL at {url}: {e}") from e


def process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_backends(url: str) -> list[psutil.Process]:
    """The PostgreSQL backends serving the bench database (their CPU is the server's too)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                            " AND pid <> pg_backend_pid()").fetchall()
    procs = []
    for (pid,) in rows:
        with contextlib.suppress(psutil.NoSuchProcess):
            procs.append(psutil.Process(pid))
    return procs


def child_setup(cores: set[int] | None) -> Callable[[], None]:
    """Runs in the child before exec: the CPU pinning and the open-file limit."""
    def setup() -> None:
        if cores:
            os.sched_setaffinity(0, cores)
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return setup


@dataclass
class Room:
    chat_id: str
    members: list[str]


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    database_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"

    @property
    def is_eschat(self) -> bool:
        return self.name.startswith("eschat")

    @property
    def durable(self) -> bool:
        return self.database_url is not None

    def procs(self) -> list[psutil.Process]:
        return process_tree(self.proc.pid)

    def db_procs(self) -> list[psutil.Process]:
        url = self.database_url
        return postgres_backends(url) if url and url.startswith("postgresql") else []

    def rss_bytes(self) -> int:
        total = 0
        for p in self.procs():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def log(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    # -- clients ----------------------------------------------------------------
    def make_rooms(self, sizes: list[int], prefix: str) -> tuple[list[Room], dict[str, Any]]:
        """Rooms of the given sizes with fresh users; returns them and each user's auth."""
        rooms = [Room(f"{prefix}{r}", [f"{prefix}{r}u{m}" for m in range(size)])
                 for r, size in enumerate(sizes)]
        users = [u for room in rooms for u in room.members]
        if not self.is_eschat:
            rooms_of: dict[str, list[str]] = {}
            for room in rooms:
                for u in room.members:
                    rooms_of.setdefault(u, []).append(room.chat_id)
            return rooms, {u: {"userId": u, "rooms": rooms_of[u]} for u in users}
        tokens = self.eschat_users(users)
        with httpx.Client(base_url=self.http_url, timeout=60) as http:
            for room in rooms:
                creator = room.members[0]
                r = http.post("/api/chats", json={"title": room.chat_id,
                                                  "memberIds": room.members[1:]},
                              headers={"Authorization": f"Bearer {tokens[creator]}"})
                if r.status_code != 201:
                    raise BenchError(f"{self.name}: POST /api/chats: {r.status_code} {r.text}")
                room.chat_id = r.json()["id"]
            self.wait_projected(http)
        # recovery: false -> room events carry no offset, the same frames as the peers'.
        return rooms, {u: {"token": tokens[u], "recovery": False} for u in users}

    def eschat_users(self, users: list[str]) -> dict[str, str]:
        """Creates the users and their tokens as `eschat token` does, in bulk."""
        from infrastructure.settings import load_settings
        from interfaces.server import bootstrap

        assert self.database_url is not None
        settings = load_settings({}, database_url=self.database_url, jwt_secret=JWT_SECRET,
                                 data_dir=str(self.data_dir / "seeder"), node_id="bench-seeder")
        container = bootstrap(settings)
        container.writer.start()

        async def ensure_all() -> None:
            await asyncio.gather(*(container.service.ensure_user(u) for u in users))

        try:
            asyncio.run(ensure_all())
            return {u: container.tokens.issue(u, 24 * 3600) for u in users}
        finally:
            container.close()

    def wait_projected(self, http: httpx.Client, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = http.get("/ready").json()
            lag = body.get("projectionLag") or body.get("projection_lag") or {}
            if lag and max(lag.values()) == 0:
                return
            time.sleep(0.1)
        raise BenchError(f"{self.name}: projections did not catch up: {body}")


def start(name: str, pg_url: str, cores: set[int] | None) -> Server:
    if name not in SERVERS:
        raise BenchError(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix=f"eschat-bench-{name}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCHAT_")}
    database_url: str | None = None
    if name.startswith("eschat"):
        if name == "eschat-postgres":
            reset_postgres(pg_url)
            database_url = pg_url
        else:
            database_url = f"sqlite:///{data_dir}/eschat.db"
        env.update({
            "ESCHAT_DATABASE_URL": database_url, "ESCHAT_PORT": str(port),
            "ESCHAT_HOST": "127.0.0.1", "ESCHAT_DATA_DIR": str(data_dir),
            "ESCHAT_JWT_SECRET": JWT_SECRET, "PYTHONPATH": str(ROOT),
            # Receivers in a bench send nothing for minutes; keep them connected.
            "ESCHAT_INACTIVITY_TIMEOUT_S": "3600",
        })
        cmd = [sys.executable, "-m", "interfaces.cli", "serve"]
    elif name.startswith("node-socketio"):
        if not (NODE_DIR / "node_modules" / "socket.io").exists():
            raise BenchError(f"run `npm ci --prefix {NODE_DIR.relative_to(ROOT)}` first")
        store = "none"
        if name == "node-socketio-pg":
            reset_postgres(pg_url)
            database_url, store = pg_url, "pg"
        cmd = ["node", str(NODE_DIR / "server.mjs"), "--port", str(port), "--store", store,
               "--database-url", pg_url]
    else:
        cmd = [sys.executable, str(ROOT / "bench" / "peers" / "python_socketio_server.py"),
               "--port", str(port)]
    log = (data_dir / "server.log").open("ab")
    proc = subprocess.Popen(cmd, env=env, cwd=data_dir, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=child_setup(cores))
    server = Server(name, proc, port, data_dir, database_url, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited early:\n{server.log()}")
        try:
            if httpx.get(server.http_url + "/health", timeout=1).status_code == 200:
                time.sleep(0.3)  # let start-up work settle before baselines
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise BenchError(f"{name} did not start:\n{server.log()}")
