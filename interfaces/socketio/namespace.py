"""A namespace: its handlers, its connected sockets and its rooms."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from . import packets as sio
from .engineio.http import RequestInfo
from .engineio.packets import Frame
from .rooms import ALL, Rooms
from .socket import Connection, Socket
from .state import ServerState

log = logging.getLogger("eschat.socketio")

ConnectHandler = Callable[[Socket, dict[str, Any]], Awaitable[None]]
EventHandler = Callable[..., Awaitable[Any]]
DisconnectHandler = Callable[[Socket, str], Awaitable[None]]
H = TypeVar("H", bound=Callable[..., Any])


class Namespace:
    def __init__(self, state: ServerState, name: str, recovery: bool) -> None:
        self._state = state
        self.name = name
        self.recovery = recovery
        self.sockets: dict[str, Socket] = {}
        self.rooms: Rooms[Socket] = Rooms(name, state)
        self.connect_handler: ConnectHandler | None = None
        self.disconnect_handler: DisconnectHandler | None = None
        self.handlers: dict[str, EventHandler] = {}

    # --- handler registration (plain calls or decorators) ---------------------------------

    def on_connect(self, handler: H) -> H:
        """``async handler(socket, auth)``; raise ``ConnectRefused(data)`` to refuse."""
        self.connect_handler = handler
        return handler

    def on_disconnect(self, handler: H) -> H:
        """``async handler(socket, reason)``, once per successful connect."""
        self.disconnect_handler = handler
        return handler

    def on(self, event: str, handler: H | None = None) -> Any:
        """``async handler(socket, *args)``; its return value answers the client's ack
        (a tuple gives several ack arguments, None gives none)."""
        if handler is None:
            def register(fn: H) -> H:
                self.handlers[event] = fn
                return fn
            return register
        self.handlers[event] = handler
        return handler

    # --- emitting -------------------------------------------------------------------------

    def emit(
        self,
        event: str,
        *args: Any,
        room: str | Iterable[str] | None = None,
        skip_sid: str | Iterable[str] | None = None,
        offset: str | None = None,
    ) -> None:
        """Emit to the whole namespace, a room, several rooms or one socket id.

        The packet is encoded once; ``offset`` (connection state recovery) is appended as
        the last argument. ``skip_sid`` leaves out one socket (or several).
        """
        data = [event, *args] if offset is None else [event, *args, offset]
        self.send_frames(sio.encode(sio.PacketType.EVENT, self.name, data), room, skip_sid)

    def send_frames(
        self,
        frames: list[Frame],
        room: str | Iterable[str] | None = None,
        skip_sid: str | Iterable[str] | None = None,
    ) -> None:
        skip_ids = {skip_sid} if isinstance(skip_sid, str) else set(skip_sid or ())
        if isinstance(room, str) and room not in self.rooms.members and room in self.sockets:
            if room not in skip_ids:
                self.sockets[room].send_frames(frames)  # the socket's own room
            return
        if room is None or isinstance(room, str):
            target = ALL if room is None else room
            if len(skip_ids) <= 1:
                skip = self.sockets.get(next(iter(skip_ids))) if skip_ids else None
                self.rooms.publish(target, frames, skip, self._threshold())
                return
            targets: set[Socket] = set(self.rooms.sockets(target))
            for socket in targets:
                if socket.id not in skip_ids:
                    socket.send_frames(frames)
            return
        self._send_to_rooms(frames, room, skip_ids)

    def _send_to_rooms(self, frames: list[Frame], rooms: Iterable[str],
                       skip_ids: set[str]) -> None:
        """Several rooms, each socket once. A room that shares no socket with the rooms
        before it goes to uWS in one publish (C++ fan-out); only the sockets of a room
        that overlaps earlier ones are sent to from Python. A user coming online in a
        room of 1,000 is one publish, not 1,000 Python sends (bench/RESULTS.md, storm)."""
        covered: set[Socket] = set()
        threshold = self._threshold()
        for name in rooms:
            if name in self.sockets and name not in self.rooms.members:  # a socket id
                own = self.sockets[name]
                if own not in covered and name not in skip_ids:
                    own.send_frames(frames)
                covered.add(own)
                continue
            members = self.rooms.sockets(name)
            fresh = members - covered
            if not fresh:
                continue
            skipped = [self.sockets[i] for i in skip_ids
                       if i in self.sockets and self.sockets[i] in fresh]
            if len(fresh) == len(members) and len(skipped) <= 1:
                self.rooms.publish(name, frames, skipped[0] if skipped else None, threshold)
            else:
                for socket in fresh:
                    if socket.id not in skip_ids:
                        socket.send_frames(frames)
            covered |= members

    def _threshold(self) -> int | None:
        opts = self._state.options
        return opts.compression_threshold if opts.compression else None

    # --- queries --------------------------------------------------------------------------

    def sockets_in(self, room: str) -> set[Socket]:
        return set(self.rooms.sockets(room))

    # --- lifecycle (called by the server's per-connection Client) -------------------------

    def new_socket(self, client: Connection, request: RequestInfo,
                   auth: dict[str, Any]) -> Socket:
        """A socket of this namespace, connecting (the connect handler decides)."""
        return Socket(self.name, self.rooms, self.recovery, client, request, auth)

    def register(self, socket: Socket) -> None:
        self.sockets[socket.id] = socket
        self.rooms.add(socket, ALL)
        for room in socket.rooms:
            self.rooms.add(socket, room)

    def unregister(self, socket: Socket) -> None:
        self.sockets.pop(socket.id, None)
        self.rooms.remove(socket, ALL)
        for room in socket.rooms:
            self.rooms.remove(socket, room)

    def on_upgrade(self, socket: Socket) -> None:
        self.rooms.on_upgrade(socket, [ALL, *socket.rooms])
