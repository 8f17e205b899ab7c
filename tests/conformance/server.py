"""Conformance server: the reference configuration of the official protocol test suites.

    python tests/conformance/server.py --port 3000

Socket.IO at /socket.io/ (namespaces "/" and "/custom", plus "/e2e" used by our
end-to-end tests) and a bare Engine.IO echo endpoint at /engine.io/.
pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000, connectTimeout 1000 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from socketify import App  # noqa: E402

from interfaces.socketio import (  # noqa: E402
    ConnectRefused,
    EngineServer,
    EngineSession,
    ServerOptions,
    Socket,
    SocketIOServer,
    native,
)


def build_options(args: argparse.Namespace) -> ServerOptions:
    return ServerOptions(
        ping_interval_ms=args.ping_interval,
        ping_timeout_ms=args.ping_timeout,
        max_payload=args.max_payload,
        connect_timeout_ms=args.connect_timeout,
        compression=args.compression,
        max_buffered_bytes=args.max_buffered,
        cors_origins=tuple(args.cors_origin or ["*"]),
        recovery=False,  # the reference CONNECT reply of "/" and "/custom" is exactly {sid}
    )


def emit_auth_after_connect(socket: Socket, auth: dict[str, Any]) -> None:
    """The reference server emits `auth` from its "connection" handler, which runs
    after the CONNECT reply is written; our connect handler runs before it, so a
    plain emit would ride in the same write. The official suite reads the two as
    separate messages (its WebSocket helper misses a second frame of one read),
    so `auth` follows a moment later, as its own write."""
    asyncio.get_running_loop().call_later(AUTH_DELAY_S, socket.emit, "auth", auth)


AUTH_DELAY_S = 0.01


def reference_namespaces(sio: SocketIOServer) -> None:
    main = sio.of("/")

    @main.on_connect
    async def on_connect(socket: Socket, auth: dict[str, Any]) -> None:
        emit_auth_after_connect(socket, auth)

    @main.on("message")
    async def on_message(socket: Socket, *args: Any) -> None:
        socket.emit("message-back", *args)

    @main.on("message-with-ack")
    async def on_message_with_ack(socket: Socket, *args: Any) -> tuple[Any, ...]:
        return args

    custom = sio.of("/custom")

    @custom.on_connect
    async def on_custom_connect(socket: Socket, auth: dict[str, Any]) -> None:
        emit_auth_after_connect(socket, auth)


def e2e_namespace(sio: SocketIOServer) -> None:
    """Extra behaviour for real-client tests; it leaves "/" and "/custom" untouched."""
    ns = sio.of("/e2e", recovery=True)
    counter = {"offset": 0}

    @ns.on_connect
    async def on_connect(socket: Socket, auth: dict[str, Any]) -> None:
        if auth.get("token") == "bad":
            raise ConnectRefused({"message": "Authentication failed"})
        if socket.recovery_pid is not None and socket.recovery_offset is not None:
            socket.recover()
            socket.emit("replay", socket.recovery_offset)
        socket.data["user"] = auth.get("user", "anonymous")
        socket.emit("welcome", {
            "id": socket.id, "auth": auth, "transport": socket.transport,
            "authorization": socket.handshake.headers.get("authorization"),
            "query": {k: v for k, v in socket.handshake.query.items() if k.startswith("x-")},
        })

    @ns.on("join")
    async def on_join(socket: Socket, room: str) -> dict[str, Any]:
        socket.join(room)
        return {"rooms": sorted(socket.rooms)}

    @ns.on("leave")
    async def on_leave(socket: Socket, room: str) -> dict[str, Any]:
        socket.leave(room)
        return {"rooms": sorted(socket.rooms)}

    @ns.on("broadcast")
    async def on_broadcast(socket: Socket, room: str, payload: Any, *rest: Any) -> str:
        counter["offset"] += 1
        offset = f"o{counter['offset']}"
        skip = socket.id if rest and rest[0] == "skip-self" else None
        ns.emit("room-message", payload, room=room, skip_sid=skip, offset=offset)
        return offset

    @ns.on("echo")
    async def on_echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @ns.on("server-ack")
    async def on_server_ack(socket: Socket, value: Any) -> Any:
        answer = await socket.call("question", value, timeout=5)
        return {"answer": answer}

    @ns.on("kick-me")
    async def on_kick(socket: Socket) -> None:
        socket.disconnect()

    @ns.on("drop-me")
    async def on_drop(socket: Socket) -> None:
        socket.drop("server shutting down")  # as if its server went away

    @ns.on("count")
    async def on_count(socket: Socket, room: str) -> int:
        return len(ns.sockets_in(room))


def echo_engine(options: ServerOptions) -> EngineServer:
    class Echo:
        def __init__(self, session: EngineSession) -> None:
            self.session = session

        def on_message(self, data: str | bytes) -> None:
            self.session.send(data)

        def on_upgrade(self) -> None:
            pass

        def on_close(self, reason: str) -> None:
            pass

    return EngineServer(
        ServerOptions(
            path="/engine.io/",
            ping_interval_ms=options.ping_interval_ms,
            ping_timeout_ms=options.ping_timeout_ms,
            max_payload=options.max_payload,
            compression=options.compression,
            max_buffered_bytes=options.max_buffered_bytes,
            cors_origins=options.cors_origins,
        ),
        Echo,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--ping-interval", type=int, default=300)
    parser.add_argument("--ping-timeout", type=int, default=200)
    parser.add_argument("--max-payload", type=int, default=1_000_000)
    parser.add_argument("--connect-timeout", type=int, default=1000)
    parser.add_argument("--max-buffered", type=int, default=4 * 1024 * 1024)
    parser.add_argument(
        "--compression", default="true", type=lambda v: v.lower() not in ("0", "false", "no")
    )
    parser.add_argument("--cors-origin", action="append", help="allowed origin (repeatable)")
    args = parser.parse_args(argv)

    app = App()
    options = build_options(args)
    sio = SocketIOServer(options)
    reference_namespaces(sio)
    e2e_namespace(sio)
    sio.attach(app)
    echo_engine(options).attach(app)

    def on_listen(config: Any) -> None:
        print(f"READY {args.port}", flush=True)

    def on_term(*_: Any) -> None:
        async def stop() -> None:
            await sio.shutdown(grace_s=0.5)
            app.close()

        asyncio.ensure_future(stop(), loop=native.asyncio_loop(app))

    signal.signal(signal.SIGTERM, on_term)
    app.listen({"port": args.port, "host": args.host}, on_listen)
    app.run()


if __name__ == "__main__":
    main()
