"""Socket.IO server under benchmark (its own process): room joins and broadcast bursts.

    python bench/protocol_server.py --port 3100 [--compression false]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from socketify import App  # noqa: E402

from interfaces.socketio import ServerOptions, Socket, SocketIOServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=3100)
    parser.add_argument("--compression", default="true")
    args = parser.parse_args()
    app = App()
    sio = SocketIOServer(ServerOptions(compression=args.compression != "false", recovery=False))
    ns = sio.of("/")

    @ns.on("join")
    async def join(socket: Socket, room: str) -> bool:
        socket.join(room)
        return True

    @ns.on("burst")
    async def burst(socket: Socket, room: str, count: int, size: int) -> float:
        """Emit ``count`` room messages of ``size`` characters; returns the seconds spent
        encoding and publishing (the fan-out itself is native)."""
        body = "x" * size
        started = time.perf_counter()
        for i in range(count):
            ns.emit("tick", i, body, room=room, offset=str(i))
        return time.perf_counter() - started

    sio.attach(app)
    app.listen({"port": args.port, "host": "127.0.0.1"},
               lambda config: print(f"READY {os.getpid()}", flush=True))
    app.run()


if __name__ == "__main__":
    main()
