"""Engine.IO v4 / Socket.IO v5 server on socketify. Knows nothing about chat."""

from .engine import EngineServer
from .errors import ConnectRefused
from .namespace import Namespace
from .options import ServerOptions
from .server import SocketIOServer
from .session import EngineSession
from .socket import Handshake, Socket

__all__ = [
    "ConnectRefused",
    "EngineServer",
    "EngineSession",
    "Handshake",
    "Namespace",
    "ServerOptions",
    "Socket",
    "SocketIOServer",
]
