"""Every use of socketify's internals, in one place. Checked with socketify 0.0.31.

The rest of ``interfaces/socketio/`` uses socketify's public API (``App``, ``OpCode``,
``CompressOptions``, response and WebSocket methods) and this module. What is here:

- ``asgi_bridge``: socketify's ASGI bridge (``socketify.asgi._ASGI``) with our native
  WebSocket behavior, so Litestar serves HTTP and we serve every WebSocket upgrade;
- ``publish`` / ``publish_except``: uWS topic fan-out (``lib.uws_publish``,
  ``lib.uws_ws_publish_with_options``), one encoding for a whole room in C++;
- ``close_listen_socket``: stops accepting (``lib.us_listen_socket_close``);
- ``install_pump``: drives libuv by epoll readiness instead of socketify's busy spin;
- the callback guards and ``hold``/``release``: native code calls Python back through
  handles (``ffi.new_handle``) that die with their Python object. A response that
  registered ``on_aborted``/``on_data`` and is dropped while its request is open makes
  the next native callback dereference garbage (``b_from_handle ... points to garbage``,
  a fatal error of the whole process), and an exception that escapes a callback skips
  the code that would have answered the request. So every callback we hand to
  socketify is wrapped (``guard_http``, ``guard_data``, ``guard_ws``): nothing escapes,
  an unanswered request gets an answer, and ``hold`` keeps a response alive until it
  is answered or aborted.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from importlib import metadata
from typing import Any

from socketify.native import ffi, lib

log = logging.getLogger("eschat.socketio")

CHECKED_WITH = "0.0.31"
try:
    _installed = metadata.version("socketify")
except metadata.PackageNotFoundError:  # pragma: no cover - vendored copies
    _installed = "unknown"
if _installed != CHECKED_WITH:  # pragma: no cover - only with another socketify
    log.warning("socketify %s installed; interfaces/socketio/native.py was checked with %s",
                _installed, CHECKED_WITH)

# --- keeping handles alive ------------------------------------------------------------------

_HELD: set[Any] = set()


def hold(handle: Any) -> None:
    """Keep a response (or any object native code calls back through) alive."""
    _HELD.add(handle)


def release(handle: Any) -> None:
    _HELD.discard(handle)


def held_count() -> int:
    return len(_HELD)


# --- callback guards --------------------------------------------------------------------


def _answer_500(res: Any) -> None:
    try:
        if not res.aborted and not res.has_responded():
            def write(r: Any) -> None:
                r.write_status(500)
                r.write_header("Content-Type", "text/plain; charset=UTF-8")
                r.end("internal error")
            res.cork(write)
    except Exception:  # the connection may be half gone; nothing more to do
        log.debug("could not answer after a failed handler", exc_info=True)
    finally:
        release(res)


def guard_http(handler: Callable[..., None]) -> Callable[..., None]:
    """For route handlers ``handler(res, req, ...)``: a failure is logged and answered."""

    @functools.wraps(handler)
    def guarded(res: Any, *args: Any) -> None:
        try:
            handler(res, *args)
        except Exception:
            log.exception("HTTP handler %s failed", getattr(handler, "__name__", handler))
            _answer_500(res)

    return guarded


def guard_data(handler: Callable[[Any, bytes | None, bool], None]
               ) -> Callable[[Any, bytes | None, bool], None]:
    """For ``res.on_data`` handlers (socketify calls them without any try)."""

    @functools.wraps(handler)
    def guarded(res: Any, chunk: bytes | None, is_end: bool) -> None:
        try:
            handler(res, chunk, is_end)
        except Exception:
            log.exception("request body handler failed")
            _answer_500(res)

    return guarded


def guard_aborted(handler: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(handler)
    def guarded(res: Any) -> None:
        try:
            handler(res)
        except Exception:
            log.exception("abort handler failed")
        finally:
            release(res)

    return guarded


def guard_ws(handler: Callable[..., None], *, closing: bool = False) -> Callable[..., None]:
    """For WebSocket callbacks ``handler(ws, ...)``: a failure is logged and, unless this
    is the close callback (the ws is gone then), closes that one connection (1011)."""

    @functools.wraps(handler)
    def guarded(ws: Any, *args: Any) -> None:
        try:
            handler(ws, *args)
        except Exception:
            log.exception("WebSocket handler %s failed", getattr(handler, "__name__", handler))
            if not closing:
                try:
                    ws.end(1011, b"")
                except Exception:
                    log.debug("could not close the WebSocket", exc_info=True)

    return guarded


# --- the ASGI bridge, fan-out, listen socket --------------------------------------------


def asgi_bridge(asgi_app: Any, websocket: dict[str, Any], *, lifespan: bool = False) -> Any:
    """socketify's ASGI bridge serving ``asgi_app`` for HTTP, with our native WebSocket
    handlers for every upgrade. ``.server`` is the native App (add routes there)."""
    from socketify.asgi import _ASGI

    return _ASGI(asgi_app, websocket=websocket, lifespan=lifespan)


def publish(app: Any, topic: bytes, data: bytes, opcode: int, compress: bool) -> None:
    """One frame to every WebSocket subscribed to ``topic`` (uWS does the fan-out)."""
    lib.uws_publish(app.SSL, app.app, topic, len(topic), data, len(data), opcode, compress)


def publish_except(app: Any, ws: Any, topic: bytes, data: bytes, opcode: int,
                   compress: bool) -> None:
    """As ``publish``, but not to ``ws`` (uWS's per-socket publish)."""
    lib.uws_ws_publish_with_options(app.SSL, ws.ws, topic, len(topic), data, len(data),
                                    opcode, compress)


def listen(app: Any, options: Any, handler: Callable[[Any], None]) -> bool:
    """``app.listen``; False if the port (or Unix socket) could not be bound. socketify
    raises that failure inside a native callback, where Python can only report it as
    "unraisable": it is caught here instead of printed as a traceback."""
    import sys

    failures: list[BaseException | None] = []
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, RuntimeError) and "Failed to listen" in str(
                unraisable.exc_value):
            failures.append(unraisable.exc_value)
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        app.listen(options, handler)
    finally:
        sys.unraisablehook = previous
    return not failures


def close_listen_socket(app: Any) -> None:
    """Stop accepting connections; open ones stay (the graceful shutdown closes them)."""
    socket = getattr(app, "socket", None)
    if socket is not None and socket != ffi.NULL:
        lib.us_listen_socket_close(app.SSL, socket)
        app.socket = ffi.NULL


def asyncio_loop(app: Any) -> asyncio.AbstractEventLoop:
    """The asyncio loop a socketify App runs on."""
    loop: asyncio.AbstractEventLoop = app.loop.loop
    return loop


def set_idle_poll(app: Any, seconds: float) -> None:
    """How often socketify's own loop glue polls libuv when idle (used only if
    ``install_pump`` could not take over; socketify's default is 10 ms)."""
    app.loop.idle_relaxation_time = seconds


# --- the libuv pump ---------------------------------------------------------------------
#
# socketify drives libuv from asyncio with a callback that polls it (`run_nowait`) and
# reschedules itself with `call_soon` for 10,000 turns after any activity. Under steady
# traffic the main thread therefore never sleeps: it burns a core and holds the GIL, and
# every other thread (the group-commit writer, the projection runner) waits up to the GIL
# switch interval each time it wants the GIL back. Here asyncio's own selector watches
# libuv's epoll descriptor, so libuv runs exactly when a socket has something, and a slow
# tick serves libuv's timers (uSockets sweeps timeouts every 4 s). One more libuv turn
# runs just before asyncio polls: what Python sent since the last turn sits in uWS's
# buffers (uWS auto-corks a send made outside its own callbacks, and room publishes wait
# for its topic drain) until a loop turn ends. If the descriptor cannot be found,
# socketify's own polling stays.

# uv_loop_t on 64-bit Unix: data, active_handles (+pad), handle_queue[2],
# active_reqs, internal_fields, stop_flag (+pad), flags, then backend_fd at byte 64.
BACKEND_FD_INDEX = 64 // ffi.sizeof("int")
TIMER_TICK_S = 0.05


def backend_fd(native_loop: Any) -> int | None:
    """libuv's epoll descriptor, checked to be one (the struct offset is an assumption)."""
    fd = int(ffi.cast("int *", native_loop)[BACKEND_FD_INDEX])
    try:
        if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[eventpoll]":
            return fd
    except OSError:
        pass
    return None


def _run_libuv(uv_loop: Any) -> None:
    # Native callbacks run inside run_nowait; ours are guarded, this is the last net.
    try:
        uv_loop.run_nowait()
    except Exception:
        log.exception("libuv turn failed")


def install_pump(socketify_loop: Any) -> bool:
    """Replaces socketify's busy polling; call before the app runs. True if installed."""
    fd = backend_fd(socketify_loop.uv_loop.get_native_loop())
    if fd is None:
        log.warning("libuv's epoll descriptor not found: keeping socketify's busy polling")
        return False
    uv_loop = socketify_loop.uv_loop
    loop: asyncio.AbstractEventLoop = socketify_loop.loop

    def tick() -> None:
        if socketify_loop.started:
            _run_libuv(uv_loop)
            loop.call_later(TIMER_TICK_S, tick)

    def start() -> None:  # socketify schedules this once when the app starts running
        loop.add_reader(fd, _run_libuv, uv_loop)
        tick()

    socketify_loop._keep_alive = start
    loop._selector = FlushingSelector(loop._selector, uv_loop, loop)  # type: ignore[attr-defined]
    return True


class FlushingSelector:
    """asyncio's selector, with a libuv turn before each poll (see above)."""

    def __init__(self, selector: Any, uv_loop: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._selector = selector
        self._uv_loop = uv_loop
        self._loop = loop

    def select(self, timeout: float | None = None) -> Any:
        _run_libuv(self._uv_loop)
        if self._loop._ready:  # type: ignore[attr-defined]  # libuv's callbacks queued work
            timeout = 0
        return self._selector.select(timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)
