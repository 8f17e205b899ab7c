"""Settings of the Engine.IO layer. Plain values: the composition root reads the env."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class EngineOptions:
    path: str = "/socket.io/"
    ping_interval_ms: int = 25_000
    ping_timeout_ms: int = 20_000
    max_payload: int = 1_000_000
    """Largest WebSocket frame and largest polling request body accepted, in bytes."""
    compression: bool = True
    """permessage-deflate with one shared compressor (uWS), when the client offers it."""
    compression_threshold: int = 1024
    """Frames shorter than this are sent uncompressed (not worth the CPU)."""
    max_buffered_bytes: int = 4 * 1024 * 1024
    """Outgoing bytes queued for one connection before it is dropped as a slow reader."""
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    """Origins allowed for polling (credentials allowed); ("*",) reflects any origin."""
    upgrade_timeout_ms: int = 10_000

    def __post_init__(self) -> None:
        if not self.path.startswith("/") or not self.path.endswith("/"):
            raise ValueError("path must start and end with '/'")
        if self.ping_interval_ms <= 0 or self.ping_timeout_ms <= 0 or self.max_payload <= 0:
            raise ValueError("ping_interval_ms, ping_timeout_ms and max_payload must be > 0")
