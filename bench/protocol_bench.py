"""Protocol benchmark: room broadcast deliveries per second and server memory per idle
connection. The server and the load generator run as two separate processes.

    python bench/protocol_bench.py [--clients 1000] [--messages 200] [--idle 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_server(compression: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "protocol_server.py"), "--port", str(port),
         "--compression", compression],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, f"ws://127.0.0.1:{port}"


def loadgen(*args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(HERE / "protocol_loadgen.py"), *args],
                            stdout=subprocess.PIPE, stdin=stdin, text=True)


def bench_broadcast(clients: int, messages: int, size: int, compression: str) -> dict[str, object]:
    server, url = start_server(compression)
    try:
        gen = loadgen("broadcast", url, str(clients), str(messages), str(size))
        out, _ = gen.communicate(timeout=600)
        result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
        result["compression"] = compression
        return result
    finally:
        server.terminate()
        server.wait(10)


def bench_idle(n: int) -> dict[str, object]:
    server, url = start_server("true")
    try:
        time.sleep(0.5)
        before = rss_kib(server.pid)
        gen = loadgen("idle", url, str(n), stdin=subprocess.PIPE)
        assert gen.stdout is not None and gen.stdin is not None
        if gen.stdout.readline().strip() != "CONNECTED":
            raise RuntimeError("load generator failed")
        time.sleep(1.0)
        after = rss_kib(server.pid)
        gen.stdin.close()
        gen.wait(60)
        return {"idle_connections": n, "rss_before_kib": before, "rss_after_kib": after,
                "kib_per_connection": round((after - before) / n, 2)}
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--idle", type=int, default=5000)
    args = parser.parse_args()
    for compression in ("false", "true"):
        print(json.dumps(bench_broadcast(args.clients, args.messages, args.size, compression)))
    print(json.dumps(bench_idle(args.idle)))


if __name__ == "__main__":
    main()
