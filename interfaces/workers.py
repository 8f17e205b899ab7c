"""`eschat serve --workers N`: N node processes on one port, and their supervisor.

Each worker is a whole node (its own ESCHAT_NODE_ID, writer, projection follower and
sockets) listening on the shared port; the kernel spreads connections over them
(SO_REUSEPORT, which uWS sets on every listening socket). Sessions stay in the worker
that created them: a worker relays requests for another worker's session to it over
that worker's private Unix socket (interfaces/socketio/forwarding.py). The supervisor
only starts, restarts and stops workers; it opens no store and no socket.
"""

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
from typing import Any

import msgspec

from infrastructure.database_url import PostgresLocation, parse_database_url
from infrastructure.settings import Settings, SettingsError
from interfaces.socketio import WorkerRoutes

log = logging.getLogger("eschat.workers")

STOP_GRACE_S = 30.0
RESTART_DELAY_S = 1.0


def check_workers(settings: Settings) -> None:
    if settings.workers < 1:
        raise SettingsError("ESCHAT_WORKERS (--workers) must be at least 1")
    if settings.workers > 1 and not isinstance(parse_database_url(settings.database_url),
                                               PostgresLocation):
        raise SettingsError(
            "--workers above 1 needs PostgreSQL (ESCHAT_DATABASE_URL=postgresql://...): "
            "SQLite has one writer, and its store cannot be shared by several processes")


def run_workers(settings: Settings) -> int:
    """Runs until SIGTERM/SIGINT, then stops every worker gracefully. Exit code 0
    when every worker stopped cleanly."""
    check_workers(settings)
    runtime = tempfile.mkdtemp(prefix=f"eschat-{settings.port}-")
    base_id = settings.node_id or f"{socket.gethostname()}-{os.getpid()}"
    names = [f"w{i}" for i in range(settings.workers)]
    sockets = {name: os.path.join(runtime, name + ".sock") for name in names}
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited loop

    def start(name: str) -> Any:
        worker_settings = msgspec.structs.replace(settings, workers=1,
                                                  node_id=f"{base_id}-{name}")
        process = context.Process(target=_worker_main, name=f"eschat-{name}",
                                  args=(worker_settings, WorkerRoutes(name, sockets)))
        process.start()
        log.info("worker %s started (pid %s, node %s)", name, process.pid,
                 worker_settings.node_id)
        return process

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    workers = {name: start(name) for name in names}
    try:
        while not stopping.wait(0.5):
            for name, process in list(workers.items()):
                if not process.is_alive() and not stopping.is_set():
                    log.warning("worker %s (pid %s) exited with %s; starting it again",
                                name, process.pid, process.exitcode)
                    stopping.wait(RESTART_DELAY_S)
                    if not stopping.is_set():
                        workers[name] = start(name)
    finally:
        for process in workers.values():
            if process.is_alive():
                process.terminate()  # SIGTERM: each worker shuts down gracefully
        for process in workers.values():
            process.join(STOP_GRACE_S)
            if process.is_alive():
                process.kill()
                process.join()
        shutil.rmtree(runtime, ignore_errors=True)
    return 0 if all(p.exitcode == 0 for p in workers.values()) else 1


def _worker_main(settings: Settings, routes: WorkerRoutes) -> None:
    from interfaces.server import serve

    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s %(levelname)s {routes.name} %(name)s %(message)s")
    serve(settings, routes)
