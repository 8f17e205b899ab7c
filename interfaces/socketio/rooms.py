"""Room membership of one namespace, mapped onto uWS topics.

Sockets on the WebSocket transport are subscribed to one native topic per room, so a
room emit is encoded once and fanned out by uWS in C++ (``app.publish``). Sockets still
on long-polling have no native socket to subscribe: they are kept aside and served from
Python until they upgrade.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from socketify import OpCode
from socketify.native import lib

from .eio_packets import Frame

if TYPE_CHECKING:
    from .socket import Socket

ALL = "\x00all"  # the namespace-wide topic; no user room can be named like this


class Rooms:
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.members: dict[str, set[Socket]] = {}
        self.polling: dict[str, set[Socket]] = {}

    def topic(self, room: str) -> bytes:
        return f"{self.namespace}\x00{room}".encode()

    # --- membership -----------------------------------------------------------------------

    def add(self, socket: Socket, room: str) -> None:
        self.members.setdefault(room, set()).add(socket)
        ws = socket.client.session.ws
        if ws is not None:
            ws.subscribe(self.topic(room))
        else:
            self.polling.setdefault(room, set()).add(socket)

    def remove(self, socket: Socket, room: str) -> None:
        _discard(self.members, room, socket)
        _discard(self.polling, room, socket)
        ws = socket.client.session.ws  # None once closed: uWS unsubscribed it already
        if ws is not None:
            ws.unsubscribe(self.topic(room))

    def on_upgrade(self, socket: Socket, rooms: Iterable[str]) -> None:
        ws = socket.client.session.ws
        if ws is None:
            return
        for room in rooms:
            _discard(self.polling, room, socket)
            ws.subscribe(self.topic(room))

    def sockets(self, room: str) -> set[Socket]:
        return self.members.get(room, set())

    # --- fan-out --------------------------------------------------------------------------

    def publish(self, app: Any, room: str, frames: list[Frame], skip: Socket | None,
                compress_threshold: int | None) -> None:
        """Deliver frames to every member of ``room`` except ``skip``."""
        topic = self.topic(room)
        skip_ws = skip.client.session.ws if skip is not None else None
        if skip is not None and skip_ws is None:
            skip_ws = None  # skipped socket is polling: it is not subscribed anyway
        for frame in frames:
            if isinstance(frame, str):
                data, opcode = frame.encode(), OpCode.TEXT
            else:
                data, opcode = frame, OpCode.BINARY
            compress = compress_threshold is not None and len(data) >= compress_threshold
            if skip_ws is not None and skip in self.members.get(room, ()):
                # uWS's per-socket publish reaches every subscriber but that socket.
                lib.uws_ws_publish_with_options(
                    app.SSL, skip_ws.ws, topic, len(topic), data, len(data), int(opcode),
                    compress,
                )
            else:
                lib.uws_publish(
                    app.SSL, app.app, topic, len(topic), data, len(data), int(opcode), compress
                )
        for socket in list(self.polling.get(room, ())):
            if socket is not skip:
                socket.client.session.send_frames(frames)


def _discard(index: dict[str, set[Socket]], room: str, socket: Socket) -> None:
    members = index.get(room)
    if members is not None:
        members.discard(socket)
        if not members:
            del index[room]
