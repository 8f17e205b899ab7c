"""Engine.IO v4 / Socket.IO v5 server on socketify. Knows nothing about chat."""

from .context import ack_requested
from .engine import EngineServer
from .errors import ConnectRefused
from .namespace import Namespace
from .options import ServerOptions
from .server import SocketIOServer
from .session import EngineSession
from .socket import Handshake, Socket

__all__ = [
    "ack_requested",
    "ConnectRefused",
    "EngineServer",
    "EngineSession",
    "Handshake",
    "Namespace",
    "ServerOptions",
    "Socket",
    "SocketIOServer",
]
