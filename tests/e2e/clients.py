"""Stock Socket.IO clients for the tests: socket.io-client (node) and python-socketio."""

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import socketio

AGENT = Path(__file__).resolve().parents[1] / "js" / "agent.mjs"
Predicate = Callable[[dict[str, Any]], bool]


class Observed:
    """Everything a client saw, with a way to wait for something in it."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def add(self, item: dict[str, Any]) -> None:
        self.seen.append(item)
        self._changed.set()

    async def wait(self, predicate: Predicate, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for item in self.seen:
                if predicate(item):
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"not seen in {timeout}s; saw: {self.seen[-15:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def event(self, name: str, where: Predicate = lambda args: True,
                    timeout: float = 10.0) -> list[Any]:
        item = await self.wait(
            lambda i: i.get("type") == "event" and i["event"] == name and where(i["args"]),
            timeout,
        )
        return list(item["args"])

    def events(self, name: str) -> list[list[Any]]:
        return [i["args"] for i in self.seen if i.get("type") == "event" and i["event"] == name]


class JsClient(Observed):
    """socket.io-client 4.x in a node process, driven line by line."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._ids = itertools.count()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> "JsClient":
        self._proc = await asyncio.create_subprocess_exec(
            "node", str(AGENT), self.url, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            self.add(json.loads(line))

    async def command(self, cmd: str, **fields: Any) -> int:
        assert self._proc is not None and self._proc.stdin is not None
        command_id = next(self._ids)
        self._proc.stdin.write((json.dumps({"cmd": cmd, "id": command_id, **fields}) + "\n")
                               .encode())
        await self._proc.stdin.drain()
        return command_id

    async def connect(self, **opts: Any) -> dict[str, Any]:
        await self.command("connect", opts=opts)
        return await self.wait(lambda i: i["type"] in ("connect", "connect_error"))

    async def call(self, event: str, payload: Any = None) -> Any:
        command_id = await self.command("emit", event=event, payload=payload)
        item = await self.wait(lambda i: i["type"] == "ack" and i["id"] == command_id)
        if "error" in item:
            raise AssertionError(item["error"])
        return item["ack"]

    async def close(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        if self._reader is not None:
            self._reader.cancel()


class PyClient(Observed):
    """python-socketio's AsyncClient. Its handlers take the payload only, so it
    connects with `recovery: False` (no offset argument)."""

    def __init__(self) -> None:
        super().__init__()
        self.sio = socketio.AsyncClient(reconnection=False)

        @self.sio.on("*")
        async def catch_all(event: str, *args: Any) -> None:
            self.add({"type": "event", "event": event, "args": list(args)})

        @self.sio.event
        async def connect_error(data: Any) -> None:
            self.add({"type": "connect_error", "data": data})

    async def connect(self, url: str, token: str, **kwargs: Any) -> None:
        await self.sio.connect(url, auth={"token": token, "recovery": False}, **kwargs)

    async def call(self, event: str, payload: Any = None) -> Any:
        if payload is None:
            return await self.sio.call(event, timeout=10)
        return await self.sio.call(event, payload, timeout=10)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
