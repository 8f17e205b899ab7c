"""The Socket.IO side of one Engine.IO session: packet decoding and its sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from . import packets as sio
from .context import set_ack_requested
from .engineio.packets import Frame
from .engineio.session import EngineSession
from .errors import ConnectRefused
from .namespace import Namespace
from .packets import Packet, PacketType, SocketIOParseError
from .socket import Socket
from .state import ServerState

log = logging.getLogger("eschat.socketio")


class Client:
    """Implements ``EngineHandler`` for the session and ``socket.Connection`` for its
    sockets. A packet that does not parse closes this connection, and nothing else."""

    __slots__ = ("_state", "_namespaces", "session", "decoder", "sockets", "_connect_timer")

    def __init__(self, state: ServerState, namespaces: Mapping[str, Namespace],
                 session: EngineSession, loop: asyncio.AbstractEventLoop) -> None:
        self._state = state
        self._namespaces = namespaces
        self.session = session
        opts = state.options
        self.decoder = sio.Decoder(opts.max_attachments, opts.max_json_depth,
                                   opts.max_namespace_length)
        self.sockets: dict[str, Socket] = {}  # namespace name -> socket (pending or connected)
        self._connect_timer: asyncio.TimerHandle | None = loop.call_later(
            opts.connect_timeout_ms / 1000, self._connect_timeout
        )

    # --- EngineHandler --------------------------------------------------------------------

    def on_message(self, data: str | bytes) -> None:
        try:
            if isinstance(data, str):
                packet = self.decoder.feed_text(data)
            else:
                packet = self.decoder.feed_binary(data)
        except SocketIOParseError as exc:
            log.debug("closing %s: %s", self.session.sid, exc)
            self.session.abort("parse error")
            return
        if packet is not None:
            self._dispatch(packet)

    def on_upgrade(self) -> None:
        for socket in self.sockets.values():
            if socket.connected:
                self._namespaces[socket.nsp].on_upgrade(socket)

    def on_close(self, reason: str) -> None:
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        for socket in list(self.sockets.values()):
            self.remove(socket, reason)

    # --- socket.Connection ----------------------------------------------------------------

    @property
    def eio_sid(self) -> str:
        return self.session.sid

    @property
    def transport(self) -> str:
        return self.session.transport

    @property
    def last_activity(self) -> float:
        return self.session.last_activity

    @property
    def native_ws(self) -> Any:
        return self.session.ws

    def send_frames(self, frames: list[Frame]) -> None:
        self.session.send_frames(frames)

    def close(self, reason: str) -> None:
        self.session.close(reason)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        self._state.spawn(fn, *args)

    def remove(self, socket: Socket, reason: str) -> None:
        """Forget a socket (pending or connected) and tell the app if it was connected."""
        if self.sockets.get(socket.nsp) is socket:
            del self.sockets[socket.nsp]
        if not socket.connected:
            return
        namespace = self._namespaces[socket.nsp]
        socket.mark_disconnected()
        namespace.unregister(socket)
        handler = namespace.disconnect_handler
        if handler is not None:
            self.spawn(handler, socket, reason)

    # --- packets --------------------------------------------------------------------------

    def _dispatch(self, packet: Packet) -> None:
        ptype = packet.type
        if ptype is PacketType.CONNECT:
            self._connect(packet.nsp, packet.data or {})
            return
        if ptype is PacketType.CONNECT_ERROR:
            self.session.abort("parse error")  # only a server sends this
            return
        socket = self.sockets.get(packet.nsp)
        if socket is None or not socket.connected:
            return  # not connected to that namespace: ignored, as the reference does
        if ptype is PacketType.DISCONNECT:
            self.remove(socket, "client namespace disconnect")
        elif ptype in (PacketType.EVENT, PacketType.BINARY_EVENT):
            self._event(socket, packet)
        else:  # ACK, BINARY_ACK
            socket.handle_ack(packet.id, packet.data)

    def _connect(self, name: str, auth: dict[str, Any]) -> None:
        namespace = self._namespaces.get(name)
        if namespace is None:
            self.send_frames(
                sio.encode(PacketType.CONNECT_ERROR, name, {"message": "Invalid namespace"}))
            return
        if name in self.sockets:
            return  # already connected (or connecting) to this namespace
        socket = namespace.new_socket(self, self.session.request, auth)
        self.sockets[name] = socket
        self.spawn(self._run_connect, namespace, socket, auth)

    async def _run_connect(self, namespace: Namespace, socket: Socket,
                           auth: dict[str, Any]) -> None:
        try:
            if namespace.connect_handler is not None:
                await namespace.connect_handler(socket, auth)
        except ConnectRefused as refused:
            self._refuse(socket, refused.data)
            return
        except Exception:
            log.exception("connect handler of %s failed", namespace.name)
            self._refuse(socket, {"message": "Internal server error"})
            return
        if self.sockets.get(namespace.name) is not socket or self.session.state != "open":
            # The connection went away while the handler ran: balance the app's books.
            if self.sockets.get(namespace.name) is socket:
                del self.sockets[namespace.name]
            socket.abandon()
            if namespace.disconnect_handler is not None:
                await namespace.disconnect_handler(socket, "transport close")
            return
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        reply: dict[str, Any] = {"sid": socket.id}
        if socket.pid is not None:
            reply["pid"] = socket.pid
        held = socket.mark_connected()
        namespace.register(socket)
        self.send_frames(sio.encode(PacketType.CONNECT, namespace.name, reply) + held)

    def _refuse(self, socket: Socket, data: Any) -> None:
        if self.sockets.get(socket.nsp) is socket:
            del self.sockets[socket.nsp]
        socket.abandon()
        self.send_frames(sio.encode(PacketType.CONNECT_ERROR, socket.nsp, data))

    def _event(self, socket: Socket, packet: Packet) -> None:
        event, *args = packet.data
        handler = self._namespaces[socket.nsp].handlers.get(event)
        if handler is None:
            return
        self.spawn(self._run_event, socket, handler, args, packet.id)

    async def _run_event(
        self, socket: Socket, handler: Callable[..., Any], args: list[Any], ack_id: int | None
    ) -> None:
        set_ack_requested(ack_id is not None)
        result = await handler(socket, *args)
        if ack_id is not None and socket.connected:
            socket.send_ack(ack_id, result)

    def _connect_timeout(self) -> None:
        self._connect_timer = None
        if not any(s.connected for s in self.sockets.values()):
            self.session.close("connect timeout")
