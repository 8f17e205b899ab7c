"""Hands Engine.IO requests for another worker's session to that worker.

With ``eschat serve --workers N`` the kernel spreads TCP connections over N processes
sharing one port (SO_REUSEPORT), but an Engine.IO session lives in one process: its
long-polling requests and its WebSocket upgrade may land on any of them. Each worker
names itself in the sids it issues (``w1.<random>``) and also listens on a private Unix
socket; a worker that gets a request for another worker's sid relays it there, a
WebSocket as a frame-for-frame pipe. Across hosts a load balancer's sticky sessions do
this job instead (see the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import websockets
from socketify import OpCode
from websockets.asyncio.client import unix_connect

from .. import native
from .http import RequestInfo, respond

log = logging.getLogger("eschat.socketio")

SID_SEPARATOR = "."  # token_urlsafe never yields it, so "w1.<random>" splits cleanly
UPSTREAM_TIMEOUT_S = 120.0  # longer than any long-poll (pingInterval) is held


@dataclass(slots=True)
class WorkerRoutes:
    """This worker's name and every worker's private socket, by name."""

    name: str
    sockets: Mapping[str, str]
    forwarded: int = field(default=0)

    @property
    def sid_prefix(self) -> str:
        return self.name + SID_SEPARATOR

    def owner(self, sid: str) -> str | None:
        """The socket of the worker that issued ``sid`` if that is another worker
        (the caller relays the request there, so it is counted in ``forwarded``)."""
        name, separator, _ = sid.partition(SID_SEPARATOR)
        if not separator or name == self.name:
            return None
        path = self.sockets.get(name)
        if path is not None:
            self.forwarded += 1
        return path


def target_of(request: RequestInfo) -> str:
    return request.url + "?" + urlencode(request.query)


async def relay_http(
    socket_path: str, method: str, target: str, content_type: str | None, body: bytes
) -> tuple[int, str, bytes]:
    """One HTTP/1.1 exchange with the owning worker: (status, content type, body)."""
    reader, writer = await asyncio.open_unix_connection(socket_path)
    try:
        head = [f"{method} {target} HTTP/1.1", "Host: worker", "Connection: close",
                f"Content-Length: {len(body)}"]
        if content_type:
            head.append(f"Content-Type: {content_type}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        response_type, length = "text/plain; charset=UTF-8", None
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-type":
                response_type = value.strip()
            elif name == "content-length":
                length = int(value)
        payload = await (reader.readexactly(length) if length is not None else reader.read())
        return status, response_type, payload
    finally:
        writer.close()


class HttpForward:
    """Relays one polling request and writes the owner's answer to ``res``."""

    def __init__(self, res: Any, headers: list[tuple[str, str]]) -> None:
        self.res = res
        self.headers = headers
        self.task: asyncio.Task[None] | None = None
        native.hold(res)  # socketify frees callbacks of dropped responses

    def start(self, loop: asyncio.AbstractEventLoop, socket_path: str, method: str,
              target: str, content_type: str | None, body: bytes) -> None:
        self.task = loop.create_task(self._run(socket_path, method, target, content_type, body))

    def aborted(self) -> None:
        native.release(self.res)
        if self.task is not None:
            self.task.cancel()  # the owner sees its request end, as with a direct client

    async def _run(self, socket_path: str, method: str, target: str,
                   content_type: str | None, body: bytes) -> None:
        try:
            status, response_type, payload = await asyncio.wait_for(
                relay_http(socket_path, method, target, content_type, body), UPSTREAM_TIMEOUT_S)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError):
            # The owner is gone (or restarting): the client starts a new session.
            status, response_type = 400, "application/json"
            payload = b'{"code":1,"message":"Session ID unknown"}'
        respond(self.res, status, payload, response_type, self.headers)
        native.release(self.res)


class WsPipe:
    """uWS user data of a client WebSocket whose session lives in another worker."""

    __slots__ = ("socket_path", "target", "ws", "_outgoing", "_task", "_sender")

    def __init__(self, socket_path: str, target: str) -> None:
        self.socket_path = socket_path
        self.target = target
        self.ws: Any = None
        self._outgoing: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None

    def open(self, ws: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.ws = ws
        self._task = loop.create_task(self._run())

    def from_client(self, data: str | bytes) -> None:
        self._outgoing.put_nowait(data)

    def client_closed(self) -> None:
        self.ws = None  # never touch a ws after uWS closed it
        self._outgoing.put_nowait(None)
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        code = 1000
        try:
            async with unix_connect(self.socket_path, "ws://worker" + self.target,
                                    compression=None, max_size=None, max_queue=None,
                                    open_timeout=10) as upstream:
                self._sender = asyncio.create_task(self._send(upstream))
                async for message in upstream:
                    ws = self.ws
                    if ws is None:
                        break
                    ws.send(message, OpCode.TEXT if isinstance(message, str) else OpCode.BINARY)
                code = upstream.close_code or 1000
        except (OSError, websockets.WebSocketException, TimeoutError):
            code = 1011
        finally:
            if self._sender is not None:
                self._sender.cancel()
            ws, self.ws = self.ws, None
            if ws is not None:
                # 1005/1006 only describe a close; they cannot be sent in one.
                ws.end(code if 1000 <= code < 5000 and code not in (1005, 1006) else 1000, b"")

    async def _send(self, upstream: Any) -> None:
        while (data := await self._outgoing.get()) is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await upstream.send(data)
        await upstream.close()
