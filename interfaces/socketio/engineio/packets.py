"""Engine.IO v4 packet codec (no I/O).

A *frame* is what one transport unit carries: a ``str`` is a typed text packet
("4hello", "2", "3probe"), ``bytes`` is a binary *message* packet (no type prefix,
as on the WebSocket transport). Polling payloads join frames with ``\\x1e`` and turn
binary frames into ``b`` + base64.
"""

from __future__ import annotations

import base64
import binascii

OPEN = "0"
CLOSE = "1"
PING = "2"
PONG = "3"
MESSAGE = "4"
UPGRADE = "5"
NOOP = "6"
PACKET_TYPES = frozenset("0123456")
SEPARATOR = "\x1e"

Frame = str | bytes


class EngineParseError(ValueError):
    """The peer sent something that is not an Engine.IO v4 packet."""


def message_frame(data: str | bytes) -> Frame:
    """A MESSAGE packet as a frame: binary stays binary, text gets the type prefix."""
    if isinstance(data, str):
        return MESSAGE + data
    return bytes(data)


def split_text_frame(frame: str) -> tuple[str, str]:
    """Split "4hello" into ("4", "hello"); anything else is a parse error."""
    if not frame or frame[0] not in PACKET_TYPES:
        raise EngineParseError(f"invalid packet type in {frame[:16]!r}")
    return frame[0], frame[1:]


def encode_payload(frames: list[Frame]) -> str:
    """Join frames for an HTTP long-polling response body."""
    parts: list[str] = []
    for frame in frames:
        if isinstance(frame, str):
            parts.append(frame)
        else:
            parts.append("b" + base64.b64encode(frame).decode("ascii"))
    return SEPARATOR.join(parts)


def decode_payload(body: str) -> list[Frame]:
    """Split an HTTP long-polling request body into frames (text packets or binary)."""
    if not body:
        raise EngineParseError("empty payload")
    frames: list[Frame] = []
    for part in body.split(SEPARATOR):
        if part.startswith("b"):
            try:
                frames.append(base64.b64decode(part[1:], validate=True))
            except (binascii.Error, ValueError) as exc:
                raise EngineParseError("invalid base64 packet") from exc
        else:
            split_text_frame(part)  # validates the type
            frames.append(part)
    return frames
