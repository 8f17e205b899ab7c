"""A client's connection to one namespace: what application handlers receive."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import sio_packets as sio
from .eio_packets import Frame

if TYPE_CHECKING:
    from .namespace import Namespace
    from .server import Client

AckCallback = Callable[..., Awaitable[None] | None]


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
        "id", "namespace", "client", "handshake", "data", "rooms", "pid", "recovered",
        "connected", "_acks", "_ack_ids", "_held", "__weakref__",
    )

    def __init__(self, namespace: Namespace, client: Client, auth: dict[str, Any]) -> None:
        request = client.session.request
        self.id = secrets.token_urlsafe(15)
        self.namespace = namespace
        self.client = client
        self.handshake = Handshake(
            request.headers, request.query, request.address, request.url, request.time, auth
        )
        self.data: dict[str, Any] = {}  # free for the application
        self.rooms: set[str] = set()
        self.pid: str | None = secrets.token_urlsafe(12) if namespace.recovery else None
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
        return self.client.session.sid

    @property
    def transport(self) -> str:
        return self.client.session.transport

    @property
    def last_activity(self) -> float:
        """``time.monotonic()`` of the last packet (pongs included) from this client."""
        return self.client.session.last_activity

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
        self._send(sio.encode(sio.PacketType.EVENT, self.namespace.name, [event, *args], ack_id))

    async def call(self, event: str, *args: Any, timeout: float = 10.0) -> list[Any]:
        """Emit and wait for the client's ack; returns its arguments."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        ack_id = next(self._ack_ids)
        self._acks[ack_id] = future
        self._send(sio.encode(sio.PacketType.EVENT, self.namespace.name, [event, *args], ack_id))
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
            self.client.session.send_frames(frames)

    def _ack(self, ack_id: int, result: Any) -> None:
        if result is None:
            args: list[Any] = []
        elif isinstance(result, tuple):
            args = list(result)
        else:
            args = [result]
        self._send(sio.encode(sio.PacketType.ACK, self.namespace.name, args, ack_id))

    def _on_ack(self, ack_id: int | None, args: list[Any]) -> None:
        if ack_id is None:
            return
        target = self._acks.pop(ack_id, None)
        if target is None:
            return
        if isinstance(target, asyncio.Future):
            if not target.done():
                target.set_result(args)
            return
        self.client.server.spawn(target, *args)

    # --- rooms ----------------------------------------------------------------------------

    def join(self, room: str | Iterable[str]) -> None:
        for name in [room] if isinstance(room, str) else room:
            if name not in self.rooms:
                self.rooms.add(name)
                if self.connected:
                    self.namespace.rooms.add(self, name)

    def leave(self, room: str) -> None:
        if room in self.rooms:
            self.rooms.discard(room)
            if self.connected:
                self.namespace.rooms.remove(self, room)

    def leave_all(self) -> None:
        for room in list(self.rooms):
            self.leave(room)

    # --- closing --------------------------------------------------------------------------

    def disconnect(self, close: bool = False) -> None:
        """Disconnect from this namespace (the client will not reconnect by itself);
        ``close=True`` also closes the underlying connection."""
        if self.connected:
            self._send(sio.encode(sio.PacketType.DISCONNECT, self.namespace.name))
            self.client.remove(self, "server namespace disconnect")
        if close:
            self.client.session.close("forced close")

    def __repr__(self) -> str:
        return f"<Socket {self.id} nsp={self.namespace.name} connected={self.connected}>"
