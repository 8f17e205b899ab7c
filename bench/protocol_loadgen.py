"""Load generator (separate process): N raw WebSocket Socket.IO clients.

    python bench/protocol_loadgen.py idle URL N        -> connects N clients, prints
                                                          "CONNECTED", holds until stdin closes
    python bench/protocol_loadgen.py broadcast URL N COUNT SIZE
                                                       -> N clients join a room, one burst of
                                                          COUNT messages; prints JSON result
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import websockets
from websockets.asyncio.client import ClientConnection


async def connect(url: str) -> ClientConnection:
    ws = await websockets.connect(
        f"{url}/socket.io/?EIO=4&transport=websocket", compression=None, max_queue=None
    )
    await ws.recv()  # Engine.IO open
    await ws.send("40")
    while not (await ws.recv()).startswith("40"):
        pass
    return ws


async def pong_forever(ws: ClientConnection) -> None:
    try:
        async for message in ws:
            if message == "2":
                await ws.send("3")
    except websockets.ConnectionClosed:
        pass


async def idle(url: str, n: int) -> None:
    sockets = []
    for i in range(0, n, 100):
        sockets += await asyncio.gather(*(connect(url) for _ in range(min(100, n - i))))
    tasks = [asyncio.create_task(pong_forever(ws)) for ws in sockets]
    print("CONNECTED", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()


async def broadcast(url: str, n: int, count: int, size: int) -> None:
    sockets = []
    for i in range(0, n, 100):
        sockets += await asyncio.gather(*(connect(url) for _ in range(min(100, n - i))))
    for j, ws in enumerate(sockets):
        await ws.send(f'42{j}["join","bench"]')
    for ws in sockets:
        while not (await ws.recv()).startswith("43"):
            pass
    done = asyncio.Event()
    remaining = n * count
    last = 0.0

    async def count_ticks(ws: ClientConnection) -> None:
        nonlocal remaining, last
        async for message in ws:
            if message == "2":
                await ws.send("3")
            elif isinstance(message, str) and message.startswith('42["tick"'):
                remaining -= 1
                if remaining == 0:
                    last = time.perf_counter()
                    done.set()

    readers = [asyncio.create_task(count_ticks(ws)) for ws in sockets]
    control = await connect(url)
    started = time.perf_counter()
    await control.send(f'420["burst","bench",{count},{size}]')
    await asyncio.wait_for(done.wait(), 300)
    publish_s = None
    async for message in control:
        if isinstance(message, str) and message.startswith("430"):
            publish_s = json.loads(message[3:])[0]
            break
    elapsed = last - started
    print(json.dumps({
        "clients": n, "messages": count, "size": size, "deliveries": n * count,
        "seconds": round(elapsed, 3), "deliveries_per_s": round(n * count / elapsed),
        "server_publish_seconds": round(publish_s or 0.0, 4),
    }), flush=True)
    for task in readers:
        task.cancel()


def main() -> None:
    mode, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "idle":
        asyncio.run(idle(url, n))
    else:
        asyncio.run(broadcast(url, n, int(sys.argv[4]), int(sys.argv[5])))


if __name__ == "__main__":
    main()
