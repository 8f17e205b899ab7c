"""The packet codecs on their own: spec examples and round trips (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interfaces.socketio import packets as sio
from interfaces.socketio.engineio import packets as eio
from interfaces.socketio.packets import PacketType


def test_polling_payload_examples_from_the_spec() -> None:
    assert eio.encode_payload(["4hello", "2", "4world"]) == "4hello\x1e2\x1e4world"
    assert eio.encode_payload(["4hello", bytes([1, 2, 3, 4])]) == "4hello\x1ebAQIDBA=="
    assert eio.decode_payload("4hello\x1ebAQIDBA==") == ["4hello", bytes([1, 2, 3, 4])]


@pytest.mark.parametrize("body", ["", "x", "4ok\x1e", "bAQ=\x1e!", "b***"])
def test_bad_polling_payloads_are_parse_errors(body: str) -> None:
    with pytest.raises(eio.EngineParseError):
        eio.decode_payload(body)


@pytest.mark.parametrize(
    ("ptype", "nsp", "data", "ack", "expected"),
    [
        (PacketType.CONNECT, "/", None, None, ["40"]),
        (PacketType.CONNECT, "/admin", {"sid": "x"}, None, ['40/admin,{"sid":"x"}']),
        (PacketType.CONNECT_ERROR, "/", {"message": "Not authorized"}, None,
         ['44{"message":"Not authorized"}']),
        (PacketType.EVENT, "/", ["foo"], None, ['42["foo"]']),
        (PacketType.EVENT, "/admin", ["bar"], None, ['42/admin,["bar"]']),
        (PacketType.EVENT, "/", ["foo"], 12, ['4212["foo"]']),
        (PacketType.ACK, "/admin", ["bar"], 13, ['43/admin,13["bar"]']),
        (PacketType.DISCONNECT, "/admin", None, None, ["41/admin,"]),
        (PacketType.EVENT, "/", ["baz", b"\x01\x02\x03\x04"], None,
         ['451-["baz",{"_placeholder":true,"num":0}]', b"\x01\x02\x03\x04"]),
        (PacketType.ACK, "/admin", [b"\x03"], 15,
         ['461-/admin,15[{"_placeholder":true,"num":0}]', b"\x03"]),
    ],
)
def test_encoding_matches_the_spec_examples(
    ptype: PacketType, nsp: str, data: Any, ack: int | None, expected: list[Any]
) -> None:
    assert sio.encode(ptype, nsp, data, ack) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text() | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(
    event=st.text(min_size=1).filter(lambda e: e not in sio.RESERVED_EVENTS),
    args=st.lists(json_values, max_size=4),
    ack=st.none() | st.integers(0, 10**12),
    nsp=st.sampled_from(["/", "/chat", "/a-b"]),
)
def test_events_round_trip_through_the_decoder(
    event: str, args: list[Any], ack: int | None, nsp: str
) -> None:
    frames = sio.encode(PacketType.EVENT, nsp, [event, *args], ack)
    decoder = sio.Decoder(max_attachments=1000)
    packet = None
    first = frames[0]
    assert isinstance(first, str) and first.startswith("4")
    packet = decoder.feed_text(first[1:])
    for attachment in frames[1:]:
        assert packet is None
        assert isinstance(attachment, bytes)
        packet = decoder.feed_binary(attachment)
    assert packet is not None
    assert packet.nsp == nsp and packet.id == ack
    assert packet.data == [event, *args]
