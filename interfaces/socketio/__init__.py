"""Engine.IO v4 / Socket.IO v5 server on socketify. Knows nothing about chat.

Layers, as python-socketio has them: ``engineio/`` (sessions, transports, heartbeat)
below this package (packets, namespaces, rooms, sockets); ``native.py`` holds every use
of socketify's internals. Wiring next to a Litestar app on one socketify App and port::

    sio = SocketIOServer(ServerOptions(ping_interval_ms=25_000, cors_origins=("http://x",)))
    ns = sio.of("/")

    @ns.on_connect
    async def connect(socket: Socket, auth: dict) -> None:
        if not valid(auth.get("token")):
            raise ConnectRefused({"message": "Authentication failed"})
        socket.join("room-1")

    @ns.on("ping")
    async def ping(socket: Socket, *args) -> dict:      # return value = ack arguments
        return {"success": True}

    bridge = native.asgi_bridge(litestar_app, websocket=sio.websocket_behavior())
    sio.attach(bridge.server, websocket=False)  # native polling routes beat the ASGI catch-all
    bridge.listen(AppListenOptions(port=4000, host="0.0.0.0")); bridge.run()

    ns.emit("new-message", payload, room="room-1", skip_sid=sender_id, offset="42")
    await sio.shutdown()
"""

from .engineio import EngineServer, EngineSession, WorkerRoutes
from .errors import ConnectRefused
from .namespace import Namespace
from .options import ServerOptions
from .server import SocketIOServer
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
    "WorkerRoutes",
]
