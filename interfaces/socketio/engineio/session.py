"""One Engine.IO session: heartbeat, close rules, and the two transports' state.

The session owns at most one live WebSocket (``ws``) plus, during an upgrade, a probe
WebSocket; every native handle is dropped *before* anything that could trigger its close
callback, so nothing touches a ws after uWS closed it (socketify issue 197).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from socketify import OpCode, SendStatus

from .. import native
from . import packets as eio
from .http import TEXT_PLAIN, RequestInfo, respond
from .packets import Frame
from .state import EngineState

log = logging.getLogger("eschat.socketio")

OPEN, CLOSING, CLOSED = "open", "closing", "closed"
GOING_AWAY = "server shutting down"


class EngineHandler(Protocol):
    """What sits on top of a session (the Socket.IO client, or the echo server)."""

    def on_message(self, data: str | bytes) -> None: ...
    def on_upgrade(self) -> None: ...
    def on_close(self, reason: str) -> None: ...


class _NoHandler:
    def on_message(self, data: str | bytes) -> None:
        pass

    def on_upgrade(self) -> None:
        pass

    def on_close(self, reason: str) -> None:
        pass


class WsSlot:
    """uWS user data of one WebSocket: links the native socket to its session."""

    __slots__ = ("request", "sid", "session", "probe", "ws")

    def __init__(self, request: RequestInfo, sid: str | None) -> None:
        self.request = request
        self.sid = sid  # set when this WebSocket upgrades an existing polling session
        self.session: EngineSession | None = None
        self.probe = False
        self.ws: Any = None


class EngineSession:
    __slots__ = (
        "_shared", "_on_gone", "sid", "request", "transport", "state", "handler",
        "last_activity",
        "ws", "_slot", "_probe", "_upgrading", "_outbox", "_outbox_bytes", "_poll_res",
        "_poll_headers", "_post_active", "_flush_scheduled", "_ping_timer", "_pong_timer",
        "_upgrade_timer", "_close_timer",
    )

    def __init__(
        self, state: EngineState, sid: str, transport: str, request: RequestInfo,
        on_gone: Callable[[EngineSession], None],
    ) -> None:
        self._shared = state
        self._on_gone = on_gone  # the server forgets the session
        self.sid = sid
        self.request = request
        self.transport = transport  # "polling" | "websocket"
        self.state = OPEN
        self.handler: EngineHandler = _NoHandler()
        self.last_activity = time.monotonic()
        self.ws: Any = None
        self._slot: WsSlot | None = None
        self._probe: WsSlot | None = None
        self._upgrading = False
        self._outbox: list[Frame] = []
        self._outbox_bytes = 0
        self._poll_res: Any = None
        self._poll_headers: list[tuple[str, str]] = []
        self._post_active = False
        self._flush_scheduled = False
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._upgrade_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    # --- outgoing -------------------------------------------------------------------------

    def send(self, data: str | bytes) -> None:
        """Send one MESSAGE packet."""
        self.send_frames([eio.message_frame(data)])

    def send_frames(self, frames: list[Frame]) -> None:
        if self.state is not OPEN:
            return
        if self.ws is not None:
            for frame in frames:
                if not self._ws_send(frame):
                    return
            return
        for frame in frames:
            self._outbox.append(frame)
            self._outbox_bytes += len(frame)
        if self._outbox_bytes > self._shared.options.max_buffered_bytes:
            self.abort("transport error")  # slow reader: drop it rather than grow memory
            return
        if self._poll_res is not None and not self._flush_scheduled:
            # Batch what this loop iteration emits into one long-polling response.
            self._flush_scheduled = True
            self._shared.loop.call_soon(self._flush_poll)

    def _ws_send(self, frame: Frame) -> bool:
        ws = self.ws
        if isinstance(frame, str):
            opcode, size = OpCode.TEXT, len(frame)
        else:
            opcode, size = OpCode.BINARY, len(frame)
        opts = self._shared.options
        compress = opts.compression and size >= opts.compression_threshold
        status = ws.send(frame, opcode, compress)
        if self.ws is None:  # closed by uWS inside send (backpressure limit)
            return False
        if status == SendStatus.DROPPED or (
            ws.get_buffered_amount() > self._shared.options.max_buffered_bytes
        ):
            self.abort("transport error")
            return False
        return True

    def _flush_poll(self) -> None:
        self._flush_scheduled = False
        res = self._poll_res
        if res is None:
            return
        if self._outbox:
            body = eio.encode_payload(self._outbox)
            self._outbox, self._outbox_bytes = [], 0
        elif self._upgrading:
            body = eio.NOOP  # ends the pending poll so the client can finish the upgrade
        else:
            return
        self._poll_res = None
        respond(res, 200, body, TEXT_PLAIN, self._poll_headers)
        if self.state is CLOSING:
            self._terminate("forced close")

    # --- heartbeat ------------------------------------------------------------------------

    def start(self) -> None:
        self._schedule_ping()

    def _schedule_ping(self) -> None:
        self._ping_timer = self._shared.loop.call_later(
            self._shared.options.ping_interval_ms / 1000, self._ping
        )

    def _ping(self) -> None:
        self._ping_timer = None
        if self.state is not OPEN:
            return
        self.send_frames([eio.PING])
        if self.state is OPEN:
            self._pong_timer = self._shared.loop.call_later(
                self._shared.options.ping_timeout_ms / 1000, self._terminate,
                "ping timeout",
            )

    def _on_pong(self) -> None:
        if self._pong_timer is not None:
            self._pong_timer.cancel()
            self._pong_timer = None
            self._schedule_ping()

    # --- incoming -------------------------------------------------------------------------

    def on_frame(self, frame: Frame) -> None:
        """A frame from the active transport (a polling POST or the upgraded WebSocket)."""
        if self.state is not OPEN:
            return
        self.last_activity = time.monotonic()
        if not isinstance(frame, str):
            self.handler.on_message(frame)
            return
        try:
            ptype, data = eio.split_text_frame(frame)
        except eio.EngineParseError:
            self.abort("parse error")
            return
        if ptype == eio.MESSAGE:
            self.handler.on_message(data)
        elif ptype == eio.PONG:
            self._on_pong()
        elif ptype == eio.CLOSE:
            self._terminate("transport close", poll_reply=eio.NOOP)
        elif ptype == eio.NOOP:
            pass
        else:  # OPEN, UPGRADE, or PING: a v4 client never sends these here
            self.abort("parse error")

    # --- polling transport ----------------------------------------------------------------

    def on_poll(self, res: Any, headers: list[tuple[str, str]]) -> None:
        if self._poll_res is not None:
            # Two concurrent GETs: the spec says error + close the session.
            respond(res, 400, "duplicate poll", TEXT_PLAIN, headers)
            self.abort("transport error")
            return
        self._poll_res, self._poll_headers = res, headers
        res.on_aborted(native.guard_aborted(self._on_poll_aborted))
        if self._outbox or self._upgrading:
            self._flush_poll()

    def _on_poll_aborted(self, res: Any) -> None:
        if self._poll_res is res:
            self._poll_res = None
            if not self._upgrading:
                self._terminate("transport close")

    def begin_post(self) -> bool:
        if self._post_active:
            return False
        self._post_active = True
        return True

    def end_post(self) -> None:
        self._post_active = False

    # --- WebSocket transport --------------------------------------------------------------

    def attach_ws(self, slot: WsSlot) -> None:
        """A WebSocket-only session (no upgrade)."""
        self._slot, self.ws = slot, slot.ws
        slot.session = self

    def begin_probe(self, slot: WsSlot) -> bool:
        if self.state is not OPEN or self.transport != "polling" or self._probe is not None:
            return False
        self._probe = slot
        slot.session, slot.probe = self, True
        self._upgrade_timer = self._shared.loop.call_later(
            self._shared.options.upgrade_timeout_ms / 1000, self._cancel_probe
        )
        return True

    def on_probe_frame(self, slot: WsSlot, frame: Frame) -> None:
        if slot is not self._probe:
            return
        if frame == eio.PING + "probe" and not self._upgrading:
            slot.ws.send(eio.PONG + "probe", OpCode.TEXT)
            self._upgrading = True
            self._flush_poll()
        elif frame == eio.UPGRADE and self._upgrading:
            self._complete_upgrade(slot)
        elif frame != eio.NOOP:
            self._cancel_probe()  # anything else during the probe is an invalid upgrade

    def _complete_upgrade(self, slot: WsSlot) -> None:
        if self._upgrade_timer is not None:
            self._upgrade_timer.cancel()
            self._upgrade_timer = None
        self._probe, slot.probe = None, False
        self._upgrading = False
        self.transport = "websocket"
        self._slot, self.ws = slot, slot.ws
        self.last_activity = time.monotonic()
        res, self._poll_res = self._poll_res, None
        if res is not None:
            respond(res, 200, eio.NOOP, TEXT_PLAIN, self._poll_headers)
        outbox, self._outbox, self._outbox_bytes = self._outbox, [], 0
        for frame in outbox:  # what was queued for polling goes first, in order
            if not self._ws_send(frame):
                return
        self.handler.on_upgrade()

    def _cancel_probe(self) -> None:
        self._upgrade_timer = None
        slot, self._probe = self._probe, None
        self._upgrading = False
        if slot is not None:
            slot.session = None
            ws, slot.ws = slot.ws, None
            if ws is not None:
                ws.end(1002, b"")

    def on_ws_closed(self, slot: WsSlot, code: int) -> None:
        """uWS close callback for one of our WebSockets: never touch its ws again."""
        slot.ws = None
        slot.session = None
        if slot is self._probe:
            self._probe = None
            self._upgrading = False
            if self._upgrade_timer is not None:
                self._upgrade_timer.cancel()
                self._upgrade_timer = None
            return
        if slot is self._slot:
            self.ws, self._slot = None, None
            reason = "transport close" if code in (1000, 1001, 1005) else "transport error"
            self._terminate(reason)

    # --- closing --------------------------------------------------------------------------

    def close(self, reason: str = "forced close") -> None:
        """Server-initiated clean close: queued packets are delivered, then CLOSE."""
        if self.state is not OPEN:
            return
        if self.ws is not None or reason == GOING_AWAY:
            # Going away: a pending poll gets a NOOP and later ones a 400, so clients
            # (python-socketio too) treat it as a transport loss and reconnect.
            self._terminate(reason, poll_reply=eio.NOOP)
            return
        self._outbox.append(eio.CLOSE)
        self.state = CLOSING
        self._cancel_timers()
        if self._poll_res is not None:
            self._flush_poll()
        else:  # wait a little for the client's next GET to pick it up
            self._close_timer = self._shared.loop.call_later(
                self._shared.options.ping_timeout_ms / 1000, self._terminate, reason
            )

    def abort(self, reason: str) -> None:
        """Protocol violation or overload: close at once."""
        self._terminate(reason)

    def _cancel_timers(self) -> None:
        for timer in (self._ping_timer, self._pong_timer, self._upgrade_timer):
            if timer is not None:
                timer.cancel()
        self._ping_timer = self._pong_timer = self._upgrade_timer = None

    def _terminate(self, reason: str, poll_reply: str = eio.CLOSE) -> None:
        if self.state is CLOSED:
            return
        self.state = CLOSED
        self._cancel_timers()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self._on_gone(self)
        # Drop every native handle before the calls that may fire close callbacks.
        ws, self.ws = self.ws, None
        slot, self._slot = self._slot, None
        probe, self._probe = self._probe, None
        res, self._poll_res = self._poll_res, None
        self._outbox, self._outbox_bytes = [], 0
        if res is not None:
            respond(res, 200, poll_reply, TEXT_PLAIN, self._poll_headers)
        if slot is not None:
            slot.session, slot.ws = None, None
        if probe is not None:
            probe.session = None
            probe_ws, probe.ws = probe.ws, None
            if probe_ws is not None:
                probe_ws.end(1000, b"")
        if ws is not None:
            code = 1002 if reason == "parse error" else 1001 if reason == GOING_AWAY else 1000
            ws.end(code, b"")  # socketify's end() does nothing without a message
        try:
            self.handler.on_close(reason)
        except Exception:
            log.exception("engine close handler failed")
