"""What the namespaces, rooms and per-connection clients of one Socket.IO server share
(uvicorn's ``ServerState`` idea): they get this instead of a reference to the server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .options import ServerOptions


@dataclass(slots=True)
class ServerState:
    options: ServerOptions
    spawn: Callable[..., None]
    """Runs a handler (sync inline, async as a task whose failure is logged)."""
    app: Any = None
    """The socketify App, once the server is attached to one (uWS topics live there)."""
