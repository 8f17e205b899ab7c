"""Settings of the Socket.IO server (the Engine.IO ones plus its own). Plain values."""

from __future__ import annotations

from dataclasses import dataclass

from .engineio.options import EngineOptions


@dataclass(frozen=True, slots=True)
class ServerOptions(EngineOptions):
    connect_timeout_ms: int = 45_000
    """An Engine.IO session that joins no namespace in this time is closed."""
    max_attachments: int = 10
    """Binary attachments per packet; more is treated as a protocol violation."""
    max_json_depth: int = 32
    """Nesting of arrays and objects in a packet's JSON; deeper is a protocol violation."""
    max_namespace_length: int = 256
    recovery: bool = True
    """Default for namespaces: CONNECT replies carry a ``pid`` (connection state recovery)."""
