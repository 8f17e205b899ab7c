"""Engine.IO v4 on socketify: handshake, heartbeat, the polling and WebSocket transports
and the upgrade between them. Knows nothing of Socket.IO; what sits on top of a session
implements ``EngineHandler``."""

from .forwarding import WorkerRoutes
from .options import EngineOptions
from .packets import EngineParseError, Frame
from .server import EngineServer
from .session import EngineHandler, EngineSession

__all__ = [
    "EngineHandler",
    "EngineOptions",
    "EngineParseError",
    "EngineServer",
    "EngineSession",
    "Frame",
    "WorkerRoutes",
]
