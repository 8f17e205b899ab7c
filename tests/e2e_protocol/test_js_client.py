"""The stock JavaScript client (socket.io-client 4.x from npm, run by node) against
the server, with default transports (polling then upgrade), websocket only and polling
only. CI installs it with ``npm ci --prefix tests/js``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.serverproc import ConformanceServer

JS = Path(__file__).resolve().parents[1] / "js"


def run_js(scenario: str, server: ConformanceServer, transports: str = "default") -> Any:
    node = shutil.which("node")
    assert node, "node is required for the JavaScript client tests"
    assert (JS / "node_modules" / "socket.io-client").is_dir(), (
        "socket.io-client missing: run `npm ci --prefix tests/js`"
    )
    done = subprocess.run(
        [node, str(JS / "e2e.mjs"), scenario, server.url, transports],
        capture_output=True, text=True, timeout=60, cwd=JS,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("transports", ["default", "websocket", "polling"])
def test_js_client_auth_acks_binary_and_rooms(
    sio_server: ConformanceServer, transports: str
) -> None:
    result = run_js("basic", sio_server, transports)
    assert result["welcome"]["auth"] == {"user": "alice", "token": "t"}
    assert result["echo"] == [1, "two", {"three": [True]}]
    assert result["binary"] == [[1, 2, 3], [4]]
    expected_transport = "polling" if transports == "polling" else "websocket"
    assert result["transport"] == expected_transport  # default: upgraded from polling
    o1, o2, o3 = result["offsets"]
    # a got its own broadcast, not the one it sent with skip-self, and b's binary one
    assert result["gotA"] == [[{"n": 1}, o1], [[9, 9], o3]]
    assert result["gotB"] == [[{"n": 1}, o1], [{"n": 2}, o2], [[9, 9], o3]]
    assert result["serverAck"] == {"answer": ["answer to q1"]}


def test_js_client_large_binary_roundtrip(sio_server: ConformanceServer) -> None:
    assert run_js("binary", sio_server) == {"len": 100000, "allSevens": True, "inner": "xyz"}


def test_js_client_refused_connect_fires_connect_error(sio_server: ConformanceServer) -> None:
    assert run_js("refused", sio_server) == {
        "message": "Authentication failed", "connected": False
    }


@pytest.mark.parametrize("transports", ["default", "websocket"])
def test_js_client_reconnects_and_is_recovered_with_its_pid(
    sio_server: ConformanceServer, transports: str
) -> None:
    result = run_js("recovery", sio_server, transports)
    assert result["firstPid"] and result["secondPid"] == result["firstPid"]
    assert result["recovered"] is True
    assert result["payload"] == "before-drop"
    assert result["replayedOffset"] == result["offset"]  # the client sent its last offset


def test_js_client_server_disconnect_is_final(sio_server: ConformanceServer) -> None:
    assert run_js("kicked", sio_server, "websocket") == {
        "reason": "io server disconnect", "active": False
    }
