"""Room membership of one namespace, mapped onto uWS topics.

Members on the WebSocket transport are subscribed to one native topic per room, so a
room emit is encoded once and fanned out by uWS in C++ (``native.publish``). Members
still on long-polling have no native socket to subscribe: they are kept aside and served
from Python until they upgrade.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from socketify import OpCode

from . import native
from .engineio.packets import Frame
from .state import ServerState

ALL = "\x00all"  # the namespace-wide topic; no user room can be named like this


class Member(Protocol):
    """What a room needs of a socket."""

    @property
    def native_ws(self) -> Any:
        """The live native WebSocket of the connection, or None (polling, or closed)."""

    def send_frames(self, frames: list[Frame]) -> None: ...


M = TypeVar("M", bound=Member)


class Rooms(Generic[M]):
    def __init__(self, namespace: str, state: ServerState) -> None:
        self.namespace = namespace
        self._state = state
        self.members: dict[str, set[M]] = {}
        self.polling: dict[str, set[M]] = {}

    def topic(self, room: str) -> bytes:
        return f"{self.namespace}\x00{room}".encode()

    # --- membership -----------------------------------------------------------------------

    def add(self, member: M, room: str) -> None:
        self.members.setdefault(room, set()).add(member)
        ws = member.native_ws
        if ws is not None:
            ws.subscribe(self.topic(room))
        else:
            self.polling.setdefault(room, set()).add(member)

    def remove(self, member: M, room: str) -> None:
        _discard(self.members, room, member)
        _discard(self.polling, room, member)
        ws = member.native_ws  # None once closed: uWS unsubscribed it already
        if ws is not None:
            ws.unsubscribe(self.topic(room))

    def on_upgrade(self, member: M, rooms: Iterable[str]) -> None:
        ws = member.native_ws
        if ws is None:
            return
        for room in rooms:
            _discard(self.polling, room, member)
            ws.subscribe(self.topic(room))

    def sockets(self, room: str) -> set[M]:
        return self.members.get(room, set())

    # --- fan-out --------------------------------------------------------------------------

    def publish(self, room: str, frames: list[Frame], skip: M | None,
                compress_threshold: int | None) -> None:
        """Deliver frames to every member of ``room`` except ``skip``."""
        app = self._state.app
        topic = self.topic(room)
        skip_ws = skip.native_ws if skip is not None else None  # None: polling, unsubscribed
        for frame in frames:
            if isinstance(frame, str):
                data, opcode = frame.encode(), OpCode.TEXT
            else:
                data, opcode = frame, OpCode.BINARY
            compress = compress_threshold is not None and len(data) >= compress_threshold
            if skip_ws is not None and skip in self.members.get(room, ()):
                native.publish_except(app, skip_ws, topic, data, int(opcode), compress)
            else:
                native.publish(app, topic, data, int(opcode), compress)
        for member in list(self.polling.get(room, ())):
            if member is not skip:
                member.send_frames(frames)


def _discard(index: dict[str, set[M]], room: str, member: M) -> None:  # noqa: UP047
    members = index.get(room)
    if members is not None:
        members.discard(member)
        if not members:
            del index[room]
