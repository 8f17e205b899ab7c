"""A client's connection to one namespace: what application handlers receive."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from . import packets as sio
from .engineio.http import RequestInfo
from .engineio.packets import Frame
from .rooms import Rooms

AckCallback = Callable[..., Awaitable[None] | None]


class Connection(Protocol):
    """What a socket needs of its Engine.IO connection (the server's per-connection
    ``Client``): sockets never reach past it to the session or the native WebSocket."""

    @property
    def eio_sid(self) -> str: ...
    @property
    def transport(self) -> str: ...
    @property
    def last_activity(self) -> float: ...
    @property
    def native_ws(self) -> Any: ...
    def send_frames(self, frames: list[Frame]) -> None: ...
    def remove(self, socket: Socket, reason: str) -> None: ...
    def close(self, reason: str) -> None: ...
    def spawn(self, fn: Callable[..., Any], *args: Any) -> None: ...


@dataclass(slots=True)
class Handshake:
    """The handshake request (headers, query, address) and this namespace's auth."""

    headers: dict[str, str]
    query: dict[str, str]
    address: str
    url: str
    time: float
    auth: dict[str, Any]


class Socket:
    __slots__ = (
        "id", "nsp", "client", "handshake", "data", "rooms", "pid", "recovered",
        "connected", "_room_index", "_acks", "_ack_ids", "_held", "__weakref__",
    )

    def __init__(self, nsp: str, room_index: Rooms[Socket], recovery: bool,
                 client: Connection, request: RequestInfo, auth: dict[str, Any]) -> None:
        self.id = secrets.token_urlsafe(15)
        self.nsp = nsp  # the namespace's name
        self._room_index = room_index
        self.client = client
        self.handshake = Handshake(
            request.headers, request.query, request.address, request.url, request.time, auth
        )
        self.data: dict[str, Any] = {}  # free for the application
        self.rooms: set[str] = set()
        self.pid: str | None = secrets.token_urlsafe(12) if recovery else None
        self.recovered = False
        self.connected = False
        self._acks: dict[int, AckCallback | asyncio.Future[list[Any]]] = {}
        self._ack_ids = itertools.count()
        # Packets emitted while the connect handler runs wait for the CONNECT reply.
        self._held: list[Frame] | None = []

    # --- identity and state ---------------------------------------------------------------

    @property
    def sid(self) -> str:
        """Same as ``id`` (the Socket.IO id the client sees as ``socket.id``)."""
        return self.id

    @property
    def eio_sid(self) -> str:
        return self.client.eio_sid

    @property
    def transport(self) -> str:
        return self.client.transport

    @property
    def last_activity(self) -> float:
        """``time.monotonic()`` of the last packet (pongs included) from this client."""
        return self.client.last_activity

    @property
    def native_ws(self) -> Any:
        """The connection's live native WebSocket, or None (see ``rooms.Member``)."""
        return self.client.native_ws

    @property
    def recovery_pid(self) -> str | None:
        """The ``pid`` a reconnecting client presented in its CONNECT auth, if any."""
        pid = self.handshake.auth.get("pid")
        return pid if isinstance(pid, str) else None

    @property
    def recovery_offset(self) -> str | None:
        """The ``offset`` (last event offset the client saw) from its CONNECT auth."""
        offset = self.handshake.auth.get("offset")
        return offset if isinstance(offset, str) else None

    def recover(self, pid: str | None = None) -> None:
        """Mark this connection as recovered: the CONNECT reply reuses the client's pid,
        so the client sees ``socket.recovered === true``. Call it from the connect
        handler, then replay what the client missed (with offsets)."""
        pid = pid or self.recovery_pid
        if pid is None:
            raise ValueError("no pid to recover")
        self.pid = pid
        self.recovered = True

    # --- sending --------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, ack_callback: AckCallback | None = None) -> None:
        """Send an event to this socket; ``ack_callback(*ack_args)`` runs on the ack."""
        ack_id = None
        if ack_callback is not None:
            ack_id = next(self._ack_ids)
            self._acks[ack_id] = ack_callback
        self._send(sio.encode(sio.PacketType.EVENT, self.nsp, [event, *args], ack_id))

    async def call(self, event: str, *args: Any, timeout: float = 10.0) -> list[Any]:
        """Emit and wait for the client's ack; returns its arguments."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        ack_id = next(self._ack_ids)
        self._acks[ack_id] = future
        self._send(sio.encode(sio.PacketType.EVENT, self.nsp, [event, *args], ack_id))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._acks.pop(ack_id, None)

    def send_frames(self, frames: list[Frame]) -> None:
        """Send already-encoded frames (e.g. one encoding shared by many sockets)."""
        self._send(frames)

    def _send(self, frames: list[Frame]) -> None:
        if self._held is not None:
            self._held.extend(frames)
        elif self.connected:
            self.client.send_frames(frames)

    # --- lifecycle and acks (called by the per-connection Client) -------------------------

    def mark_connected(self) -> list[Frame]:
        """The CONNECT reply goes out now: returns what was emitted meanwhile."""
        held, self._held = self._held or [], None
        self.connected = True
        return held

    def abandon(self) -> None:
        """Refused, or the connection went away before the connect handler finished."""
        self._held = None

    def mark_disconnected(self) -> None:
        """Gone from the namespace: pending ``call``s are cancelled."""
        self.connected = False
        for target in self._acks.values():
            if isinstance(target, asyncio.Future) and not target.done():
                target.cancel()
        self._acks.clear()

    def send_ack(self, ack_id: int, result: Any) -> None:
        """Answer the client's ack ``ack_id`` with a handler's return value."""
        if result is None:
            args: list[Any] = []
        elif isinstance(result, tuple):
            args = list(result)
        else:
            args = [result]
        self._send(sio.encode(sio.PacketType.ACK, self.nsp, args, ack_id))

    def handle_ack(self, ack_id: int | None, args: list[Any]) -> None:
        """The client acked one of our emits."""
        if ack_id is None:
            return
        target = self._acks.pop(ack_id, None)
        if target is None:
            return
        if isinstance(target, asyncio.Future):
            if not target.done():
                target.set_result(args)
            return
        self.client.spawn(target, *args)

    # --- rooms ----------------------------------------------------------------------------

    def join(self, room: str | Iterable[str]) -> None:
        for name in [room] if isinstance(room, str) else room:
            if name not in self.rooms:
                self.rooms.add(name)
                if self.connected:
                    self._room_index.add(self, name)

    def leave(self, room: str) -> None:
        if room in self.rooms:
            self.rooms.discard(room)
            if self.connected:
                self._room_index.remove(self, room)

    def leave_all(self) -> None:
        for room in list(self.rooms):
            self.leave(room)

    # --- closing --------------------------------------------------------------------------

    def disconnect(self, close: bool = False) -> None:
        """Disconnect from this namespace (the client will not reconnect by itself);
        ``close=True`` also closes the underlying connection."""
        if self.connected:
            self._send(sio.encode(sio.PacketType.DISCONNECT, self.nsp))
            self.client.remove(self, "server namespace disconnect")
        if close:
            self.client.close("forced close")

    def drop(self, reason: str = "forced close") -> None:
        """Close the underlying connection without a DISCONNECT packet (a transport loss
        to the client, which reconnects by itself)."""
        self.client.close(reason)

    def __repr__(self) -> str:
        return f"<Socket {self.id} nsp={self.nsp} connected={self.connected}>"
