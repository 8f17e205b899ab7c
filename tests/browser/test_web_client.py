"""The web client in a real browser: Debian's Chromium driven by playwright-core
(tests/browser/scenario.mjs) against a real `eschat serve`, which this test
stops and starts again mid-scenario on the same data and port."""

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "scenario.mjs"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ("webclient-wide-list.png", "webclient-wide-chat.png",
         "webclient-narrow-list.png", "webclient-narrow-chat.png")


def run_scenario(server: ServerProcess, restart: Callable[[], ServerProcess],
                 shots: Path) -> list[dict[str, object]]:
    """Runs the node script, answering its requests to stop and start the server.
    Returns every JSON line it printed."""
    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install -y chromium"
    assert (HERE / "node_modules" / "playwright-core").is_dir(), "npm ci --prefix tests/browser"
    proc = subprocess.Popen(["node", str(SCRIPT), server.url, str(shots)], cwd=HERE,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    lines: list[dict[str, object]] = []
    try:
        for raw in proc.stdout:
            line = json.loads(raw)
            lines.append(line)
            print(raw.rstrip())
            if line.get("step") == "stop-server":
                server.stop()
            elif line.get("step") == "start-server":
                server = restart()
            else:
                continue
            proc.stdin.write(json.dumps({"done": line["step"]}) + "\n")
            proc.stdin.flush()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    errors = [line["error"] for line in lines if "error" in line]
    assert not errors and proc.returncode == 0, (
        f"scenario failed (exit {proc.returncode}):\n" + "\n".join(map(str, errors))
        + "\n--- server log ---\n" + server.log()[-4000:])
    return lines


@pytest.mark.timeout(240)
def test_two_people_chat_in_chromium_across_a_server_restart(
    server_factory: Callable[..., ServerProcess], sqlite_url: str, tmp_path: Path
) -> None:
    # SQLite only: the client sees the same contract on PostgreSQL (tests/e2e/ runs the
    # socket.io-client scenarios on both), and the suite's time is better spent elsewhere.
    database_url = sqlite_url
    first = server_factory(database_url)
    data_dir = Path(first.env["ESCHAT_DATA_DIR"])

    def restart() -> ServerProcess:
        return server_factory(database_url, port=first.port, data_dir=data_dir)

    # ESCHAT_SCREENSHOTS_DIR=docs refreshes the README's screenshots.
    shots = Path(os.environ.get("ESCHAT_SCREENSHOTS_DIR") or tmp_path / "shots").resolve()
    shots.mkdir(parents=True, exist_ok=True)
    lines = run_scenario(first, restart, shots)

    assert lines[-1] == {"done": True}
    for name in SHOTS:
        png = (shots / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
    # Reported, not asserted (the machine is shared): what a first visit costs.
    for line in lines:
        if "metric" in line:
            print(f"{line['metric']}: {load_summary(line)}")


def load_summary(m: dict[str, Any]) -> str:
    """One line a person reads: bytes over the wire, then when the page became usable."""
    def ms(key: str) -> str:
        value = m.get(key)
        return "-" if value is None else f"{float(value):.0f} ms"
    kb = {k: float(m[k]) / 1000 for k in ("allBytes", "assetBytes", "assetBodyBytes")}
    return (f"{kb['allBytes']:.1f} KB in {m['requests']} requests (hashed assets "
            f"{kb['assetBytes']:.1f} KB on the wire, {kb['assetBodyBytes']:.0f} KB unpacked); "
            f"DOMContentLoaded {ms('domContentLoadedMs')}, sign-in form {ms('signInFormMs')}, "
            f"chat list on screen {ms('chatListMs')}, socket connected {ms('connectedMs')}")
