"""Fan-out across a cluster: deliveries per second with 1, 2 and 3 nodes on one
PostgreSQL store (issue 7).

One chat of two users: bob holds RECEIVERS connections spread round-robin over the
nodes (one user, many devices: each socket is in the chat's room), alice sends
MESSAGES through SENDERS connections spread the same way, each paced under the
per-connection rate limit. Receivers run in separate load-generator processes.
deliveries/s = new-message frames received by all of bob's sockets / (last receipt
- first send).

    .venv/bin/python bench/cluster_fanout.py [--nodes 1,2,3] [--receivers 600]
        [--senders 40] [--messages 400] [--loadgens 2] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import PG_URL, reset_postgres, start_server  # noqa: E402

PER_CONNECTION_RATE = 18.0  # under the 20/s send-message limit


async def connect(url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(
        url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
        compression=None, max_queue=None, open_timeout=60)
    await ws.recv()  # Engine.IO open
    await ws.send("40" + json.dumps({"token": token, "recovery": False}))
    while not str(await ws.recv()).startswith("40"):
        pass
    return ws


async def receive(urls: list[str], count: int, token: str, expected: int) -> None:
    """Load generator: `count` sockets of bob; prints READY, then a JSON result."""
    sockets = []
    for i in range(0, count, 50):
        sockets += await asyncio.gather(*(connect(urls[(i + j) % len(urls)], token)
                                          for j in range(min(50, count - i))))
    received = 0
    last = 0.0
    done = asyncio.Event()

    async def read(ws: websockets.ClientConnection) -> None:
        nonlocal received, last
        got = 0
        async for frame in ws:
            if frame == "2":
                await ws.send("3")
            elif isinstance(frame, str) and frame.startswith('42["new-message"'):
                received += 1
                got += 1
                last = time.time()
                if got == expected and received == expected * len(sockets):
                    done.set()

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    print("READY", flush=True)
    cpu0 = time.process_time()
    with contextlib.suppress(TimeoutError):  # a short count is reported, not hidden
        await asyncio.wait_for(done.wait(), 600)
    print(json.dumps({"received": received, "last": last,
                      "cpu_s": time.process_time() - cpu0}), flush=True)
    for task in readers:
        task.cancel()


async def send(urls: list[str], senders: int, token: str, chat_id: str,
               messages: int) -> tuple[float, int]:
    sockets = [await connect(urls[i % len(urls)], token) for i in range(senders)]
    acked = 0

    async def sender(ws: websockets.ClientConnection, share: int, offset: int) -> None:
        nonlocal acked
        for n in range(share):
            body = {"chatId": chat_id, "content": f"m{offset + n}"}
            await ws.send(f"42{n}" + json.dumps(["send-message", body]))
            await asyncio.sleep(1 / PER_CONNECTION_RATE)
        async for frame in ws:  # drain acks and pings until every ack is in
            if frame == "2":
                await ws.send("3")
            elif isinstance(frame, str) and frame.startswith("43"):
                acked += 1
                share -= 1
                if share == 0:
                    return

    first = time.time()
    shares = [messages // senders + (1 if i < messages % senders else 0) for i in range(senders)]
    await asyncio.gather(*(sender(ws, shares[i], sum(shares[:i]))
                           for i, ws in enumerate(sockets) if shares[i]))
    for ws in sockets:
        await ws.close()
    return first, acked


def run(nodes: int, args: argparse.Namespace) -> dict[str, float]:
    reset_postgres(args.database_url)
    data = Path(tempfile.mkdtemp())
    servers = [start_server(data / f"n{i}", args.database_url, node_id=f"bench-{i}",
                            inactivity_timeout_s="600") for i in range(nodes)]
    loadgens: list[subprocess.Popen[str]] = []
    try:
        alice, bob = servers[0].token("alice"), servers[0].token("bob")
        chat_id = httpx.post(f"{servers[0].url}/api/chats", json={"memberIds": ["bob"]},
                             headers={"Authorization": f"Bearer {alice}"}).json()["id"]
        urls = [s.url for s in servers]
        per = [args.receivers // args.loadgens + (1 if i < args.receivers % args.loadgens else 0)
               for i in range(args.loadgens)]
        for count in per:
            loadgens.append(subprocess.Popen(
                [sys.executable, __file__, "_receive", ",".join(urls), str(count), bob,
                 str(args.messages)], stdout=subprocess.PIPE, text=True))
        for proc in loadgens:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        cpu0 = [server_cpu(s.proc.pid) for s in servers]
        first, acked = asyncio.run(send(urls, args.senders, alice, chat_id, args.messages))
        results = []
        for proc in loadgens:
            assert proc.stdout is not None
            results.append(json.loads(proc.stdout.readline()))
        cpu = sum(server_cpu(s.proc.pid) - c for s, c in zip(servers, cpu0, strict=True))
    finally:
        for proc in loadgens:
            proc.kill()
        for server in servers:
            server.stop()
    received = sum(r["received"] for r in results)
    elapsed = max(r["last"] for r in results) - first
    return {"nodes": nodes, "acked": acked, "deliveries": received,
            "expected": args.receivers * args.messages, "seconds": round(elapsed, 2),
            "deliveries_per_s": round(received / elapsed), "server_cpu_s": round(cpu, 1),
            "loadgen_cpu_share": round(max(r["cpu_s"] for r in results) / elapsed, 2)}


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of one server process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_receive":
        urls, count, token, expected = sys.argv[2:6]
        asyncio.run(receive(urls.split(","), int(count), token, int(expected)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,2,3", help="cluster sizes to run, e.g. 1,2,3")
    parser.add_argument("--receivers", type=int, default=600)
    parser.add_argument("--senders", type=int, default=40)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--loadgens", type=int, default=2)
    parser.add_argument("--database-url", default=PG_URL,
                        help="a PostgreSQL database the bench may wipe")
    args = parser.parse_args()
    print("| nodes | messages acked | deliveries | seconds | deliveries/s | server CPU s "
          "| busiest loadgen CPU share |")
    print("|---|---|---|---|---|---|---|")
    for nodes in (int(n) for n in args.nodes.split(",")):
        r = run(nodes, args)
        print(f"| {r['nodes']} | {r['acked']} | {r['deliveries']}/{r['expected']} | "
              f"{r['seconds']} | {r['deliveries_per_s']:,} | {r['server_cpu_s']} | "
              f"{r['loadgen_cpu_share']} |", flush=True)


if __name__ == "__main__":
    main()
