"""Runs socketify's libuv loop when its sockets are ready, instead of spinning.

socketify drives libuv from asyncio with a callback that polls it (`run_nowait`) and
reschedules itself with `call_soon` for 10,000 turns after any activity. Under steady
traffic the main thread therefore never sleeps: it burns a core and holds the GIL, and
every other thread (the group-commit writer, the projection runner) waits up to the
GIL switch interval (5 ms) each time it wants the GIL back, i.e. after every database
round trip. Measured: most of the server's CPU, and seconds of projection lag on
PostgreSQL at 500 messages/s.

Here asyncio's own selector watches libuv's epoll descriptor, so libuv runs exactly
when a socket has something, and a slow tick serves libuv's timers (uSockets sweeps
timeouts every 4 s). One more libuv turn runs just before asyncio polls: what Python
sent since the last turn sits in uWS's buffers (uWS auto-corks a send made outside its
own callbacks, and room publishes wait for its topic drain) until a loop turn ends, so
that turn is what puts it on the wire. If the descriptor cannot be found, socketify's
own polling stays.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from socketify.native import ffi

log = logging.getLogger("eschat.socketio")

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


def install(socketify_loop: Any) -> bool:
    """Replaces socketify's busy polling; call before the app runs. True if installed."""
    fd = backend_fd(socketify_loop.uv_loop.get_native_loop())
    if fd is None:
        log.warning("libuv's epoll descriptor not found: keeping socketify's busy polling")
        return False
    uv_loop = socketify_loop.uv_loop
    loop: asyncio.AbstractEventLoop = socketify_loop.loop

    def run_libuv() -> None:
        uv_loop.run_nowait()

    def tick() -> None:
        if socketify_loop.started:
            uv_loop.run_nowait()
            loop.call_later(TIMER_TICK_S, tick)

    def start() -> None:  # socketify schedules this once when the app starts running
        loop.add_reader(fd, run_libuv)
        tick()

    socketify_loop._keep_alive = start
    loop._selector = FlushingSelector(loop._selector, uv_loop, loop)  # type: ignore[attr-defined]
    return True


class FlushingSelector:
    """asyncio's selector, with a libuv turn before each poll (see the module doc)."""

    def __init__(self, selector: Any, uv_loop: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._selector = selector
        self._uv_loop = uv_loop
        self._loop = loop

    def select(self, timeout: float | None = None) -> Any:
        self._uv_loop.run_nowait()
        if self._loop._ready:  # type: ignore[attr-defined]  # libuv's callbacks queued work
            timeout = 0
        return self._selector.select(timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)
