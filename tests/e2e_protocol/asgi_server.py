"""Litestar through socketify's ASGI bridge plus our Socket.IO server on the SAME App,
the way interfaces/server.py composes them. Usage: python asgi_server.py --port N"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from litestar import Litestar, get  # noqa: E402
from socketify import AppListenOptions  # noqa: E402

from interfaces.socketio import ServerOptions, Socket, SocketIOServer, native  # noqa: E402


@get("/hello")
async def hello() -> dict[str, str]:
    return {"from": "litestar"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    sio = SocketIOServer(ServerOptions(ping_interval_ms=1000, ping_timeout_ms=2000))

    @sio.of("/").on("echo")
    async def echo(socket: Socket, *values: Any) -> tuple[Any, ...]:
        return values

    # Native handlers get every WebSocket upgrade; Litestar gets the other HTTP requests.
    asgi = native.asgi_bridge(Litestar([hello]), websocket=sio.websocket_behavior(),
                              lifespan=True)
    sio.attach(asgi.server, websocket=False)  # polling routes win over the ASGI catch-all
    asgi.listen(AppListenOptions(port=args.port, host="127.0.0.1"),
                lambda config: print(f"READY {args.port}", flush=True))
    asgi.run()


if __name__ == "__main__":
    main()
