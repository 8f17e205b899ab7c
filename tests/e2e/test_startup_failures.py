"""A setting or a service that is wrong at start: one line saying what and how to fix
it, exit code 2, no traceback, and the process ends (CONTRACT.md, "Running it")."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port


def run_serve(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCHAT_")}
    env.update({"ESCHAT_HOST": "127.0.0.1", "ESCHAT_DATA_DIR": str(tmp_path),
                "ESCHAT_JWT_SECRET": "test-secret-" + "x" * 32, "PYTHONPATH": str(ROOT),
                "ESCHAT_DATABASE_URL": f"sqlite:///{tmp_path}/eschat.db"})
    env.update({"ESCHAT_" + k.upper(): v for k, v in settings.items()})
    return subprocess.run([sys.executable, "-m", "interfaces.cli", "serve"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)


def assert_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("eschat: ") and "Traceback" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve(tmp_path, port=str(port))
    assert_one_line(result, f"port {port}", "already in use", "ESCHAT_PORT")


def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    dead = free_port()  # nothing listens there
    result = run_serve(tmp_path, port=str(free_port()),
                       database_url=f"postgresql://postgres:secret@127.0.0.1:{dead}/eschat")
    assert_one_line(result, "PostgreSQL", f"127.0.0.1:{dead}", "ESCHAT_DATABASE_URL")
    assert "secret" not in result.stderr  # the password is never printed


@pytest.mark.parametrize("url", ["mysql://user@host/db", "eschat.db"])
def test_an_unknown_url_scheme_is_one_line_and_exit_2(tmp_path: Path, url: str) -> None:
    result = run_serve(tmp_path, port=str(free_port()), database_url=url)
    assert_one_line(result, "unknown scheme", "ESCHAT_DATABASE_URL", "postgresql://")


def test_a_failed_listen_is_reported_not_raised_in_a_native_callback() -> None:
    """The fallback when the port is taken between the check and the listen."""
    from socketify import App, AppListenOptions

    from interfaces.socketio import native

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = App()
        assert native.listen(app, AppListenOptions(port=port, host="127.0.0.1"),
                             lambda _c: None) is False
    free = free_port()
    assert native.listen(app, AppListenOptions(port=free, host="127.0.0.1"), lambda _c: None)
    native.close_listen_socket(app)
