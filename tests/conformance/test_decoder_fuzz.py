"""Property-based fuzzing of the Engine.IO and Socket.IO decoders (hypothesis).

Whatever a peer sends, a decoder either returns packets or raises its parse error
(which closes that one connection): never another exception, never unbounded work.
Hypothesis prints the failing example; `--hypothesis-seed=N` replays a run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from interfaces.socketio import packets as sio
from interfaces.socketio.engineio import packets as eio
from interfaces.socketio.packets import MAX_JSON_DEPTH, Decoder, SocketIOParseError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)


@st.composite
def nested_json(draw: st.DrawFn) -> str:
    depth = draw(st.sampled_from([MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 100,
                                  999, 1000, 5000, 100_000]))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ("[1,", "]"),
                                           ('[{"b":[', "]}]")]))
    inner = draw(st.sampled_from(["0", '"x"', "[]", "{}", ""]))
    cut = draw(st.booleans())
    text = opener * depth + inner + closer * (depth // 2 if cut else depth)
    return text


@st.composite
def socketio_text(draw: st.DrawFn) -> str:
    """A Socket.IO packet's text, from well-formed to hostile, part by part."""
    ptype = draw(st.sampled_from(list("0123456") + ["7", "9", "x", ""]))
    attachments = draw(st.sampled_from(["", "0-", "1-", "10-", "11-", "999999-", "9999999-",
                                        "-", "1"]))
    nsp = draw(st.sampled_from(["", "/,", "/chat,", "/" + "n" * 257 + ",", "/x", "/\x00,"]))
    ack = draw(st.sampled_from(["", "0", "12", "9" * 15, "9" * 16, "9" * 400]))
    payload = draw(st.one_of(
        json_values.map(json.dumps),
        st.lists(json_values, min_size=1).map(lambda v: json.dumps(["ev", *v])),
        nested_json(),
        st.text(max_size=40),
        st.just('["x",{"_placeholder":true,"num":0}]'),
        st.just('["x",{"_placeholder":true,"num":-1}]'),
        st.just('["x",{"_placeholder":true,"num":1e400}]'),
        st.just('["x",' + "9" * 5000 + "]"),
        st.just(""),
    ))
    return ptype + attachments + nsp + ack + payload


def decode_all(decoder: Decoder, frames: list[str | bytes]) -> list[sio.Packet]:
    packets = []
    for frame in frames:
        packet = decoder.feed_text(frame) if isinstance(frame, str) else decoder.feed_binary(frame)
        if packet is not None:
            packets.append(packet)
    return packets


@FUZZ
@given(st.lists(st.one_of(socketio_text(), st.text(max_size=60), st.binary(max_size=40)),
                min_size=1, max_size=6))
@example(["2" + "[" * 5000 + "]" * 5000])  # the body that once hung a polling POST
@example(["2[" + "[" * 100_000])
@example(["51-" + '["a",' + "[" * 40 + '{"_placeholder":true,"num":0}' + "]" * 40 + "]", b"x"])
def test_the_socketio_decoder_raises_only_its_parse_error(frames: list[str | bytes]) -> None:
    decoder = Decoder(max_attachments=10)
    try:
        packets = decode_all(decoder, frames)
    except SocketIOParseError:
        return
    for packet in packets:  # what it accepts is a packet the server can handle
        assert isinstance(packet.type, sio.PacketType)
        assert packet.nsp.startswith("/") and len(packet.nsp) <= sio.MAX_NAMESPACE_LENGTH
        assert packet.id is None or 0 <= packet.id < 10**15
        assert len(packet.attachments) <= 10
        assert not too_deep(packet.data, MAX_JSON_DEPTH)


def too_deep(value: Any, limit: int) -> bool:
    if limit < 0:
        return True
    if isinstance(value, list):
        return any(too_deep(v, limit - 1) for v in value)
    if isinstance(value, dict):
        return any(too_deep(v, limit - 1) for v in value.values())
    return False


@FUZZ
@given(st.text(max_size=200))
@example("4" + "\x1e" * 50)
@example("b" + "=" * 9)
def test_the_engineio_payload_decoder_raises_only_its_parse_error(body: str) -> None:
    try:
        frames = eio.decode_payload(body)
    except eio.EngineParseError:
        return
    for frame in frames:
        if isinstance(frame, str):
            assert frame[0] in eio.PACKET_TYPES


@FUZZ
@given(st.integers(1, 3 * MAX_JSON_DEPTH), st.sampled_from(["[", '{"k":']))
def test_json_deeper_than_the_limit_is_refused_and_shallower_is_kept(depth: int,
                                                                     opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = '2["ev",' + opener * depth + "1" + closer * depth + "]"
    if depth + 1 > MAX_JSON_DEPTH:  # the event's own array is one level
        with pytest.raises(SocketIOParseError):
            Decoder().feed_text(text)
    else:
        packet = Decoder().feed_text(text)
        assert packet is not None and packet.data[0] == "ev"


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    content = "[" * 500 + "{" * 500
    packet = Decoder().feed_text("2" + json.dumps(["send-message", {"content": content}]))
    assert packet is not None and packet.data[1]["content"] == content


@pytest.mark.parametrize("text", [
    "2" + "9" * 16 + '["x"]',           # ack id beyond JS's safe integers
    "0/" + "n" * 257 + ",{}",            # namespace too long
    "511-" + '["x"]',                    # more attachments than allowed
    "5" + "9" * 7 + '-["x"]',            # an attachment count that is not a count
])
def test_unbounded_parts_are_parse_errors(text: str) -> None:
    with pytest.raises(SocketIOParseError):
        Decoder(max_attachments=10).feed_text(text)
