"""Socket.IO v5 packet codec (no I/O).

Format: ``<type>[<attachments>-][<nsp>,][<ack id>][JSON]`` plus binary attachments, each
sent as its own Engine.IO binary message. Validation follows the reference parser: a
packet that fails it is a protocol violation and closes the connection. Decoding is
bounded (the Engine.IO layer bounds the size): attachments per packet, digits of an ack
id, length of a namespace, nesting of the JSON. Every failure is a ``SocketIOParseError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import msgspec

from .engineio.packets import MESSAGE, Frame

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode
_MAX_ACK_ID_DIGITS = 15  # keeps ids in JS's safe-integer range
MAX_JSON_DEPTH = 32
MAX_NAMESPACE_LENGTH = 256
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


class PacketType(IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


class SocketIOParseError(ValueError):
    """The peer sent something that is not a valid Socket.IO v5 packet."""


@dataclass(slots=True)
class Packet:
    type: PacketType
    nsp: str = "/"
    data: Any = None
    id: int | None = None
    attachments: list[bytes] = field(default_factory=list)


# --- encoding ----------------------------------------------------------------------------


def _extract_binary(value: Any, out: list[bytes]) -> Any:
    """Replace bytes-like values by placeholders, collecting them in ``out`` in order."""
    if isinstance(value, bytes | bytearray | memoryview):
        out.append(bytes(value))
        return {"_placeholder": True, "num": len(out) - 1}
    if isinstance(value, list | tuple):
        return [_extract_binary(v, out) for v in value]
    if isinstance(value, dict):
        return {k: _extract_binary(v, out) for k, v in value.items()}
    return value


_BINARY = (bytes, bytearray, memoryview)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _has_binary(value: Any) -> bool:
    # Asked of every ack and emit: scalars are answered by one set lookup (the plain
    # recursion over `isinstance(v, A | B)` was ~10 us a message, 3 % of the event loop).
    if type(value) in _SCALARS:
        return False
    if isinstance(value, _BINARY):
        return True
    if isinstance(value, (list, tuple)):  # a tuple: `list | tuple` builds a union per call
        items: Any = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return False
    return any(type(v) not in _SCALARS and _has_binary(v) for v in items)


def encode(
    ptype: PacketType, nsp: str = "/", data: Any = None, ack_id: int | None = None
) -> list[Frame]:
    """Encode one packet as Engine.IO frames: the text packet then its attachments.

    EVENT/ACK payloads holding bytes become BINARY_EVENT/BINARY_ACK automatically.
    """
    attachments: list[bytes] = []
    if data is not None and ptype in (PacketType.EVENT, PacketType.ACK) and _has_binary(data):
        data = _extract_binary(data, attachments)
        ptype = PacketType.BINARY_EVENT if ptype is PacketType.EVENT else PacketType.BINARY_ACK
    head = str(int(ptype))
    if attachments:
        head += f"{len(attachments)}-"
    if nsp != "/":
        head += nsp + ","
    if ack_id is not None:
        head += str(ack_id)
    if data is not None:
        head += _json_encode(data).decode("utf-8")
    frames: list[Frame] = [MESSAGE + head]
    frames.extend(attachments)
    return frames


# --- decoding ----------------------------------------------------------------------------


def _too_deep(value: Any, limit: int) -> bool:
    """Whether arrays/objects nest more than ``limit`` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item if isinstance(item, list) else item.values()
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, list | dict))
    return False


def _decode_json(text: str, max_depth: int) -> Any:
    try:
        data = _json_decode(text)
    except msgspec.DecodeError as exc:
        raise SocketIOParseError("invalid payload") from exc
    except RecursionError as exc:  # msgspec's own limit, far beyond ours
        raise SocketIOParseError("payload nested too deeply") from exc
    # Fewer brackets than the limit cannot nest deeper: the walk is for suspects only.
    if (text.count("[") + text.count("{") > max_depth and isinstance(data, list | dict)
            and _too_deep(data, max_depth)):
        raise SocketIOParseError("payload nested too deeply")
    return data


def _parse_text(text: str, max_attachments: int, max_depth: int = MAX_JSON_DEPTH,
                max_nsp: int = MAX_NAMESPACE_LENGTH) -> tuple[Packet, int]:
    if not text or text[0] not in "0123456":
        raise SocketIOParseError("unknown packet type")
    ptype = PacketType(int(text[0]))
    i, n = 1, len(text)
    expected = 0
    if ptype in (PacketType.BINARY_EVENT, PacketType.BINARY_ACK):
        dash = text.find("-", i)
        count = text[i:dash] if dash != -1 else ""
        if not (count.isascii() and count.isdigit()) or len(count) > 6:
            raise SocketIOParseError("illegal attachments")
        expected = int(count)
        if expected > max_attachments:
            raise SocketIOParseError("too many attachments")
        i = dash + 1
    nsp = "/"
    if i < n and text[i] == "/":
        comma = text.find(",", i)
        end = n if comma == -1 else comma
        nsp = text[i:end]
        if len(nsp) > max_nsp:
            raise SocketIOParseError("namespace too long")
        i = end + 1 if comma != -1 else n
    start = i
    while i < n and "0" <= text[i] <= "9":
        i += 1
    ack_id: int | None = None
    if i > start:
        if i - start > _MAX_ACK_ID_DIGITS:
            raise SocketIOParseError("illegal ack id")
        ack_id = int(text[start:i])
    data: Any = None
    if i < n:
        data = _decode_json(text[i:], max_depth)
    packet = Packet(ptype, nsp, data, ack_id)
    _validate(packet)
    return packet, expected


def _validate(packet: Packet) -> None:
    data, ptype = packet.data, packet.type
    if ptype is PacketType.CONNECT:
        ok = data is None or isinstance(data, dict)
    elif ptype is PacketType.DISCONNECT:
        ok = data is None
    elif ptype is PacketType.CONNECT_ERROR:
        ok = isinstance(data, str | dict)
    elif ptype in (PacketType.EVENT, PacketType.BINARY_EVENT):
        ok = (
            isinstance(data, list)
            and len(data) > 0
            and isinstance(data[0], str)
            and data[0] not in RESERVED_EVENTS
        )
    else:  # ACK, BINARY_ACK
        ok = isinstance(data, list)
    if not ok:
        raise SocketIOParseError(f"invalid payload for {ptype.name}")


def _reconstruct(value: Any, attachments: list[bytes]) -> Any:
    if isinstance(value, list):
        return [_reconstruct(v, attachments) for v in value]
    if isinstance(value, dict):
        if value.get("_placeholder") is True and "num" in value:
            num = value["num"]
            if not isinstance(num, int) or isinstance(num, bool) or not (
                0 <= num < len(attachments)
            ):
                raise SocketIOParseError("illegal attachment index")
            return attachments[num]
        return {k: _reconstruct(v, attachments) for k, v in value.items()}
    return value


class Decoder:
    """Stateful decoder: one per connection, because attachments follow their packet."""

    __slots__ = ("_pending", "_expected", "_max_attachments", "_max_depth", "_max_nsp")

    def __init__(self, max_attachments: int = 10, max_depth: int = MAX_JSON_DEPTH,
                 max_namespace_length: int = MAX_NAMESPACE_LENGTH) -> None:
        self._pending: Packet | None = None
        self._expected = 0
        self._max_attachments = max_attachments
        self._max_depth = max_depth
        self._max_nsp = max_namespace_length

    def feed_text(self, text: str) -> Packet | None:
        if self._pending is not None:
            raise SocketIOParseError("got plaintext data while reconstructing a packet")
        packet, expected = _parse_text(text, self._max_attachments, self._max_depth,
                                       self._max_nsp)
        if expected == 0:
            if packet.type in (PacketType.BINARY_EVENT, PacketType.BINARY_ACK):
                packet.data = _reconstruct(packet.data, [])
            return packet
        self._pending, self._expected = packet, expected
        return None

    def feed_binary(self, data: bytes) -> Packet | None:
        packet = self._pending
        if packet is None:
            raise SocketIOParseError("got binary data when not reconstructing a packet")
        packet.attachments.append(data)
        if len(packet.attachments) < self._expected:
            return None
        self._pending, self._expected = None, 0
        packet.data = _reconstruct(packet.data, packet.attachments)
        return packet
