"""Socket.IO v5 server: namespaces over Engine.IO sessions, on one socketify App."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import sio_packets as sio
from .context import _ack_requested
from .engine import EngineServer
from .errors import ConnectRefused
from .namespace import Namespace
from .options import ServerOptions
from .session import EngineSession
from .sio_packets import Packet, PacketType, SocketIOParseError
from .socket import Socket

log = logging.getLogger("eschat.socketio")


class Client:
    """The Socket.IO side of one Engine.IO session: packet decoding and its sockets."""

    __slots__ = ("server", "session", "decoder", "sockets", "_connect_timer")

    def __init__(self, server: SocketIOServer, session: EngineSession) -> None:
        self.server = server
        self.session = session
        self.decoder = sio.Decoder(server.options.max_attachments)
        self.sockets: dict[str, Socket] = {}  # namespace name -> socket (pending or connected)
        self._connect_timer: asyncio.TimerHandle | None = server.engine.loop.call_later(
            server.options.connect_timeout_ms / 1000, self._connect_timeout
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
                socket.namespace._on_upgrade(socket)

    def on_close(self, reason: str) -> None:
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        for socket in list(self.sockets.values()):
            self.remove(socket, reason)

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
            socket._on_ack(packet.id, packet.data)

    def _connect(self, name: str, auth: dict[str, Any]) -> None:
        namespace = self.server.namespaces.get(name)
        if namespace is None:
            self._send(sio.encode(PacketType.CONNECT_ERROR, name, {"message": "Invalid namespace"}))
            return
        if name in self.sockets:
            return  # already connected (or connecting) to this namespace
        socket = Socket(namespace, self, auth)
        self.sockets[name] = socket
        self.server.spawn(self._run_connect, socket, auth)

    async def _run_connect(self, socket: Socket, auth: dict[str, Any]) -> None:
        namespace = socket.namespace
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
            socket._held = None
            if namespace.disconnect_handler is not None:
                await namespace.disconnect_handler(socket, "transport close")
            return
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        reply: dict[str, Any] = {"sid": socket.id}
        if socket.pid is not None:
            reply["pid"] = socket.pid
        held, socket._held = socket._held or [], None
        socket.connected = True
        namespace._register(socket)
        self._send(sio.encode(PacketType.CONNECT, namespace.name, reply) + held)

    def _refuse(self, socket: Socket, data: Any) -> None:
        if self.sockets.get(socket.namespace.name) is socket:
            del self.sockets[socket.namespace.name]
        socket._held = None
        self._send(sio.encode(PacketType.CONNECT_ERROR, socket.namespace.name, data))

    def _event(self, socket: Socket, packet: Packet) -> None:
        event, *args = packet.data
        handler = socket.namespace.handlers.get(event)
        if handler is None:
            return
        self.server.spawn(self._run_event, socket, handler, args, packet.id)

    async def _run_event(
        self, socket: Socket, handler: Callable[..., Any], args: list[Any], ack_id: int | None
    ) -> None:
        _ack_requested.set(ack_id is not None)
        result = await handler(socket, *args)
        if ack_id is not None and socket.connected:
            socket._ack(ack_id, result)

    # --- helpers --------------------------------------------------------------------------

    def _send(self, frames: list[Any]) -> None:
        self.session.send_frames(frames)

    def remove(self, socket: Socket, reason: str) -> None:
        """Forget a socket (pending or connected) and tell the app if it was connected."""
        if self.sockets.get(socket.namespace.name) is socket:
            del self.sockets[socket.namespace.name]
        if not socket.connected:
            return
        socket.connected = False
        socket.namespace._unregister(socket)
        for target in socket._acks.values():
            if isinstance(target, asyncio.Future) and not target.done():
                target.cancel()
        socket._acks.clear()
        handler = socket.namespace.disconnect_handler
        if handler is not None:
            self.server.spawn(handler, socket, reason)

    def _connect_timeout(self) -> None:
        self._connect_timer = None
        if not any(s.connected for s in self.sockets.values()):
            self.session.close("connect timeout")


class SocketIOServer:
    """Socket.IO server. Wire it with ``attach(app)`` (native App) or, next to an ASGI
    app, ``_ASGI(asgi_app, websocket=sio.websocket_behavior())`` then
    ``sio.attach(asgi.server, websocket=False)``."""

    def __init__(self, options: ServerOptions | None = None, **overrides: Any) -> None:
        base = options or ServerOptions()
        if "cors_origins" in overrides:
            overrides["cors_origins"] = tuple(overrides["cors_origins"])
        self.options = replace(base, **overrides) if overrides else base
        self.engine = EngineServer(self.options, self._on_engine_connection)
        self.namespaces: dict[str, Namespace] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.of("/")

    @property
    def app(self) -> Any:
        return self.engine.app

    def of(self, name: str, *, recovery: bool | None = None) -> Namespace:
        """The namespace called ``name``, created on first use."""
        if not name.startswith("/"):
            name = "/" + name
        namespace = self.namespaces.get(name)
        if namespace is None:
            namespace = Namespace(
                self, name, self.options.recovery if recovery is None else recovery
            )
            self.namespaces[name] = namespace
        elif recovery is not None:
            namespace.recovery = recovery
        return namespace

    # --- wiring ---------------------------------------------------------------------------

    def attach(self, app: Any, *, websocket: bool = True) -> None:
        """Register polling routes on a socketify ``App`` (and the WebSocket route,
        unless ``websocket=False`` because the ASGI bridge already uses our behavior)."""
        self.engine.attach(app, websocket=websocket)

    def websocket_behavior(self) -> dict[str, Any]:
        """Native WebSocket handlers and limits, for ``app.ws()`` or ``_ASGI(websocket=)``."""
        return self.engine.websocket_behavior()

    def close(self) -> None:
        """Stop accepting and close every connection now (see ``shutdown``)."""
        self.engine.close_all("server shutting down")

    async def shutdown(self, grace_s: float = 1.0) -> None:
        """Stop accepting, close every connection (clients will reconnect elsewhere),
        and give disconnect handlers ``grace_s`` to finish."""
        self.engine.close_all("server shutting down")
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)

    # --- internals ------------------------------------------------------------------------

    def _on_engine_connection(self, session: EngineSession) -> Client:
        return Client(self, session)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a handler as a task on the loop; sync callables run inline."""
        try:
            result = fn(*args)
        except Exception:
            log.exception("handler %r failed", fn)
            return
        if inspect.isawaitable(result):
            # A C asyncio.Task, not the loop's task factory: socketify's pure-Python
            # RequestTask cost a quarter of the loop's time at 2,000 events/s.
            task = asyncio.Task(self._guard(result), loop=self.engine.loop)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guard(awaitable: Any) -> None:
        try:
            await awaitable
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("socket.io handler failed")
