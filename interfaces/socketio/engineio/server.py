"""Engine.IO v4 server on a socketify App: handshake, polling routes, WebSocket behavior."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from socketify import CompressOptions

from .. import native
from . import packets as eio
from .forwarding import HttpForward, WorkerRoutes, WsPipe, target_of
from .http import (
    BAD_HANDSHAKE_METHOD,
    BAD_REQUEST,
    TEXT_PLAIN,
    TRANSPORT_UNKNOWN,
    UNKNOWN_SID,
    UNSUPPORTED_PROTOCOL_VERSION,
    RequestInfo,
    cors_headers,
    respond,
    respond_error,
)
from .options import EngineOptions
from .packets import EngineParseError
from .session import OPEN, EngineHandler, EngineSession, WsSlot
from .state import EngineState

log = logging.getLogger("eschat.socketio")

ConnectionCallback = Callable[[EngineSession], EngineHandler]


def _check_query(query: dict[str, str]) -> tuple[int, str] | None:
    if query.get("EIO") != "4":
        return UNSUPPORTED_PROTOCOL_VERSION
    if query.get("transport") not in ("polling", "websocket"):
        return TRANSPORT_UNKNOWN
    return None


class EngineServer:
    """Engine.IO sessions of one path. ``on_connection`` gives each new session a handler."""

    def __init__(self, options: EngineOptions, on_connection: ConnectionCallback) -> None:
        self.options = options
        self.on_connection = on_connection
        self.sessions: dict[str, EngineSession] = {}
        self.app: Any = None
        self._state: EngineState | None = None
        self.accepting = True
        # Set under `eschat serve --workers N`: sids name their worker, and requests for
        # another worker's session are relayed to it (see forwarding.py).
        self.routes: WorkerRoutes | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._state is None:
            raise RuntimeError("EngineServer is not attached to an App yet")
        return self._state.loop

    # --- wiring ---------------------------------------------------------------------------

    def attach(self, app: Any, *, websocket: bool = True) -> None:
        """Register the polling routes (and, unless the ASGI bridge owns WebSockets,
        the WebSocket route) for ``options.path`` on a socketify ``App``."""
        self.bind(app)
        pattern = self.options.path + "*"
        app.get(pattern, native.guard_http(self._http_get))
        app.post(pattern, native.guard_http(self._http_post))
        app.options(pattern, native.guard_http(self._http_options))
        app.any(pattern, native.guard_http(self._http_other))
        if websocket:
            app.ws(pattern, self.websocket_behavior())

    def bind(self, app: Any) -> None:
        self.app = app
        self._state = EngineState(self.options, native.asyncio_loop(app))
        native.install_pump(app.loop)

    def websocket_behavior(self) -> dict[str, Any]:
        """socketify ``ws()`` behavior dict; also what ``_ASGI(websocket=...)`` takes."""
        opts = self.options
        heartbeat_s = (opts.ping_interval_ms + opts.ping_timeout_ms) // 1000
        compression = (
            CompressOptions.SHARED_COMPRESSOR | CompressOptions.SHARED_DECOMPRESSOR
            if opts.compression
            else CompressOptions.DISABLED
        )
        return {
            "compression": int(compression),
            "max_payload_length": opts.max_payload,
            # Engine.IO heartbeats do the liveness check; this native timeout is a backstop.
            "idle_timeout": min(960, max(16, 2 * heartbeat_s + 8)),
            "max_backpressure": opts.max_buffered_bytes,
            "close_on_backpressure_limit": True,
            "reset_idle_timeout_on_send": False,
            "send_pings_automatically": False,
            "upgrade": native.guard_http(self._ws_upgrade),
            "open": native.guard_ws(self._ws_open),
            "message": native.guard_ws(self._ws_message),
            "close": native.guard_ws(self._ws_close, closing=True),
        }

    # --- sessions -------------------------------------------------------------------------

    def _new_session(self, transport: str, request: RequestInfo) -> EngineSession:
        sid = secrets.token_urlsafe(15)
        if self.routes is not None:
            sid = self.routes.sid_prefix + sid
        if self._state is None:
            raise RuntimeError("EngineServer is not attached to an App yet")
        session = EngineSession(self._state, sid, transport, request, self.forget)
        self.sessions[sid] = session
        return session

    def _open_payload(self, session: EngineSession) -> str:
        return eio.OPEN + json.dumps(
            {
                "sid": session.sid,
                "upgrades": ["websocket"] if session.transport == "polling" else [],
                "pingInterval": self.options.ping_interval_ms,
                "pingTimeout": self.options.ping_timeout_ms,
                "maxPayload": self.options.max_payload,
            },
            separators=(",", ":"),
        )

    def _start(self, session: EngineSession) -> None:
        try:
            session.handler = self.on_connection(session)
        except Exception:
            log.exception("connection handler failed")
            session.abort("server error")
            return
        session.start()

    def forget(self, session: EngineSession) -> None:
        if self.sessions.get(session.sid) is session:
            del self.sessions[session.sid]

    def close_all(self, reason: str = "server shutting down") -> None:
        self.accepting = False
        for session in list(self.sessions.values()):
            session.close(reason)

    # --- HTTP long-polling ----------------------------------------------------------------

    def _headers_for(self, request: RequestInfo) -> list[tuple[str, str]]:
        headers = cors_headers(request.headers.get("origin"), self.options.cors_origins)
        if request.headers.get("connection", "").lower() == "close":
            # uWS closes such connections but does not say so; Node's keep-alive agent
            # would then reuse the dead socket ("socket hang up").
            headers.append(("Connection", "close"))
        return headers

    def _http_get(self, res: Any, req: Any) -> None:
        request = RequestInfo.from_request(res, req)
        headers = self._headers_for(request)
        query = request.query
        error = _check_query(query)
        if error is None and query["transport"] != "polling":
            error = BAD_REQUEST  # a plain GET cannot open a WebSocket session
        if error is not None:
            respond_error(res, error, headers)
            return
        sid = query.get("sid")
        if sid is None:
            if not self.accepting:
                respond_error(res, BAD_REQUEST, headers)
                return
            session = self._new_session("polling", request)
            respond(res, 200, self._open_payload(session), TEXT_PLAIN, headers)
            self._start(session)
            return
        found = self.sessions.get(sid)
        owner = self._owner(sid) if found is None else None
        if owner is not None:
            forward = HttpForward(res, headers)
            res.on_aborted(native.guard_aborted(lambda _r: forward.aborted()))
            forward.start(self.loop, owner, "GET", target_of(request), None, b"")
        elif found is None:
            respond_error(res, UNKNOWN_SID, headers)
        elif found.transport != "polling":
            respond_error(res, BAD_REQUEST, headers)
        else:
            found.on_poll(res, headers)

    def _http_post(self, res: Any, req: Any) -> None:
        request = RequestInfo.from_request(res, req)
        headers = self._headers_for(request)
        error = _check_query(request.query)
        sid = request.query.get("sid")
        if error is None and request.query["transport"] != "polling":
            error = BAD_REQUEST
        if error is None and sid is None:
            error = BAD_HANDSHAKE_METHOD
        session = self.sessions.get(sid) if sid is not None else None
        owner = self._owner(sid) if error is None and sid and session is None else None
        if owner is not None:
            self._forward_post(res, request, owner, headers)
            return
        if error is None and session is None:
            error = UNKNOWN_SID
        if error is None and session is not None and session.transport != "polling":
            error = BAD_REQUEST
        if error is not None or session is None:
            respond_error(res, error or BAD_REQUEST, headers)
            return
        if session.state is not OPEN or not session.begin_post():
            respond_error(res, BAD_REQUEST, headers)
            session.abort("transport error")  # concurrent POSTs break ordering: spec closes
            return
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.options.max_payload:
            self.reject_too_large(res, session, headers)
            return
        body = _PostBody(self, res, session, headers)
        native.hold(res)  # until answered or aborted: native code calls back through it
        res.on_aborted(native.guard_aborted(body.aborted))
        res.on_data(native.guard_data(body.on_data))

    def _owner(self, sid: str) -> str | None:
        return self.routes.owner(sid) if self.routes is not None else None

    def _forward_post(
        self, res: Any, request: RequestInfo, owner: str, headers: list[tuple[str, str]]
    ) -> None:
        """Reads the body (at most one byte over maxPayload: the owner refuses it and
        closes its session) and relays it to the worker that owns the session."""
        forward = HttpForward(res, headers)
        limit = self.options.max_payload + 1
        chunks: list[bytes] = []
        size = 0

        def on_data(_r: Any, chunk: bytes | None, is_end: bool) -> None:
            nonlocal size
            if chunk and size < limit:
                chunks.append(chunk[: limit - size])
                size += len(chunks[-1])
            if is_end:
                forward.start(self.loop, owner, "POST", target_of(request),
                              request.headers.get("content-type"), b"".join(chunks))

        res.on_aborted(native.guard_aborted(lambda _r: forward.aborted()))
        res.on_data(native.guard_data(on_data))

    def reject_too_large(self, res: Any, session: EngineSession, headers: Any) -> None:
        session.end_post()
        respond(res, 413, "Payload Too Large", TEXT_PLAIN, headers)
        native.release(res)
        session.abort("transport error")

    def on_post_body(
        self, res: Any, session: EngineSession, body: bytes, headers: list[tuple[str, str]]
    ) -> None:
        """A whole polling POST body: its frames go to the session; the request is
        answered whatever the frames do (a handler's failure closes only its session)."""
        session.end_post()
        try:
            try:
                frames = eio.decode_payload(body.decode("utf-8"))
            except (UnicodeDecodeError, EngineParseError):
                respond_error(res, BAD_REQUEST, headers)
                session.abort("parse error")
                return
            for frame in frames:
                if session.state is not OPEN:
                    break
                try:
                    session.on_frame(frame)
                except Exception:
                    log.exception("closing %s: frame handler failed", session.sid)
                    session.abort("transport error")
            respond(res, 200, "ok", "text/html", headers)
        finally:
            native.release(res)

    def _http_options(self, res: Any, req: Any) -> None:
        origin = req.get_header("origin")
        wanted = req.get_header("access-control-request-headers")
        headers = cors_headers(origin, self.options.cors_origins)
        if headers:
            headers.append(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
            if wanted:
                headers.append(("Access-Control-Allow-Headers", wanted))
            headers.append(("Access-Control-Max-Age", "86400"))
        respond(res, 204, b"", TEXT_PLAIN, headers)

    def _http_other(self, res: Any, req: Any) -> None:
        headers = cors_headers(req.get_header("origin"), self.options.cors_origins)
        respond_error(res, BAD_HANDSHAKE_METHOD, headers)

    # --- WebSocket ------------------------------------------------------------------------

    def _ws_upgrade(self, res: Any, req: Any, context: Any) -> None:
        request = RequestInfo.from_request(res, req)
        if not request.url.startswith(self.options.path):
            respond(res, 404, "Not Found")
            return
        error = _check_query(request.query)
        if error is None and request.query["transport"] != "websocket":
            error = BAD_REQUEST
        sid = request.query.get("sid")
        if error is None and sid is not None:
            session = self.sessions.get(sid)
            owner = self._owner(sid) if session is None else None
            if owner is not None:
                self._upgrade(res, request, context, WsPipe(owner, target_of(request)))
                return
            if session is None:
                error = UNKNOWN_SID
            # A session that already upgraded: accepted, then closed in _ws_open, as the
            # reference server does (clients see a close, not a failed handshake).
        if error is None and sid is None and not self.accepting:
            error = BAD_REQUEST
        if error is not None:
            respond_error(res, error)
            return
        self._upgrade(res, request, context, WsSlot(request, sid))

    @staticmethod
    def _upgrade(res: Any, request: RequestInfo, context: Any, slot: WsSlot | WsPipe) -> None:
        res.upgrade(
            request.headers.get("sec-websocket-key", ""),
            request.headers.get("sec-websocket-protocol", ""),
            request.headers.get("sec-websocket-extensions", ""),
            context,
            slot,
        )

    def _ws_open(self, ws: Any) -> None:
        slot: WsSlot | WsPipe | None = ws.get_user_data()
        if isinstance(slot, WsPipe):
            slot.open(ws, self.loop)
            return
        if slot is None:
            ws.close()
            return
        slot.ws = ws
        if slot.sid is None:
            session = self._new_session("websocket", slot.request)
            session.attach_ws(slot)
            ws.send(self._open_payload(session), 1)  # 1 = text opcode
            self._start(session)
            return
        existing = self.sessions.get(slot.sid)
        if existing is None or not existing.begin_probe(slot):
            slot.ws = None
            ws.end(1008, b"")  # a second WebSocket for one session: refused

    def _ws_message(self, ws: Any, data: str | bytes, opcode: Any) -> None:
        slot: WsSlot | WsPipe | None = ws.get_user_data()
        if isinstance(slot, WsPipe):
            slot.from_client(data)
            return
        if slot is None or slot.session is None:
            return
        if slot.probe:
            slot.session.on_probe_frame(slot, data)
        else:
            slot.session.on_frame(data)

    def _ws_close(self, ws: Any, code: int, message: Any) -> None:
        slot: WsSlot | WsPipe | None = ws.get_user_data()
        if isinstance(slot, WsPipe):
            slot.client_closed()
            return
        if slot is None:
            return
        session = slot.session
        if session is not None:
            session.on_ws_closed(slot, code)
        slot.ws = None


class _PostBody:
    """Collects one polling POST body, up to maxPayload (then 413 and the session closes)."""

    __slots__ = ("server", "res", "session", "headers", "chunks", "size", "done")

    def __init__(self, server: EngineServer, res: Any, session: EngineSession,
                 headers: list[tuple[str, str]]) -> None:
        self.server, self.res, self.session, self.headers = server, res, session, headers
        self.chunks: list[bytes] = []
        self.size = 0
        self.done = False

    def on_data(self, res: Any, chunk: bytes | None, is_end: bool) -> None:
        if self.done:
            return
        if chunk:
            self.size += len(chunk)
            if self.size > self.server.options.max_payload:
                self.done = True
                self.server.reject_too_large(res, self.session, self.headers)
                return
            self.chunks.append(chunk)
        if is_end:
            self.done = True
            self.server.on_post_body(res, self.session, b"".join(self.chunks), self.headers)

    def aborted(self, _res: Any) -> None:
        self.done = True
        self.session.end_post()
