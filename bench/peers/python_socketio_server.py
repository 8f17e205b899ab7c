"""Peer server for eschat's bench: python-socketio's AsyncServer on uvicorn,
broadcasting to rooms without storing. Same chat protocol as the node peer
(auth {userId, rooms}; `send-message` -> `new-message` to the room, then ack).

    python bench/peers/python_socketio_server.py --port 4002
"""

import argparse
import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import socketio
import uvicorn


def build_app() -> Any:
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
    seqs = itertools.count(1)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> None:
        auth = auth or {}
        user_id = str(auth.get("userId", sid))
        await sio.save_session(sid, {"userId": user_id})
        for room in auth.get("rooms", []):
            await sio.enter_room(sid, str(room))
        await sio.emit("connected", {"userId": user_id}, to=sid)

    @sio.on("send-message")
    async def send_message(sid: str, payload: Any) -> dict[str, Any]:
        chat_id = payload.get("chatId") if isinstance(payload, dict) else None
        if not isinstance(chat_id, str) or chat_id not in sio.rooms(sid):
            return {"success": False, "error": "invalid message", "code": "invalid"}
        session = await sio.get_session(sid)
        message = {
            "id": str(uuid.uuid4()), "chatId": chat_id, "senderId": session["userId"],
            "content": payload.get("content"), "seq": next(seqs),
            "createdAt": datetime.now(UTC).isoformat(), "deliveryStatus": "sent",
            "clientMessageId": payload.get("clientMessageId"),
        }
        await sio.emit("new-message", message, room=chat_id)
        return {"success": True, "messageId": message["id"], "seq": message["seq"],
                "createdAt": message["createdAt"]}

    async def health(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return socketio.ASGIApp(sio, other_asgi_app=health)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=4002)
    args = parser.parse_args()
    # uvicorn's defaults (uvloop and httptools when installed), one worker like the others.
    uvicorn.run(build_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
