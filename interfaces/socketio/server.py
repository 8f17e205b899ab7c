"""Socket.IO v5 server: namespaces over Engine.IO sessions, on one socketify App."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .client import Client
from .engineio.server import EngineServer
from .engineio.session import EngineSession
from .namespace import Namespace
from .options import ServerOptions
from .state import ServerState

log = logging.getLogger("eschat.socketio")


class SocketIOServer:
    """Socket.IO server. Wire it with ``attach(app)`` (native App) or, next to an ASGI
    app, ``native.asgi_bridge(asgi_app, websocket=sio.websocket_behavior())`` then
    ``sio.attach(bridge.server, websocket=False)``."""

    def __init__(self, options: ServerOptions | None = None, **overrides: Any) -> None:
        base = options or ServerOptions()
        if "cors_origins" in overrides:
            overrides["cors_origins"] = tuple(overrides["cors_origins"])
        self.options = replace(base, **overrides) if overrides else base
        self.engine = EngineServer(self.options, self._on_engine_connection)
        self.namespaces: dict[str, Namespace] = {}
        self._state = ServerState(self.options, self.spawn)
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
                self._state, name, self.options.recovery if recovery is None else recovery
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
        self._state.app = app

    def websocket_behavior(self) -> dict[str, Any]:
        """Native WebSocket handlers and limits, for ``app.ws()`` or the ASGI bridge."""
        return self.engine.websocket_behavior()

    def close(self) -> None:
        """Stop accepting and close every connection now (see ``shutdown``)."""
        self.engine.close_all("server shutting down")

    def pending_tasks(self) -> list[asyncio.Task[Any]]:
        """Handlers still running (a graceful shutdown waits for them)."""
        return [t for t in self._tasks if not t.done()]

    async def shutdown(self, grace_s: float = 1.0) -> None:
        """Stop accepting, close every connection (clients will reconnect elsewhere),
        and give disconnect handlers ``grace_s`` to finish."""
        self.engine.close_all("server shutting down")
        pending = self.pending_tasks()
        if pending:
            await asyncio.wait(pending, timeout=grace_s)

    # --- handlers -------------------------------------------------------------------------

    def _on_engine_connection(self, session: EngineSession) -> Client:
        return Client(self._state, self.namespaces, session, self.engine.loop)

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
