"""Socket.IO v5 rules (socket.io-protocol README: Exchange protocol, Packet encoding)
against the reference configuration of the conformance server."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.conformance.conftest import open_polling, recv, sio_connect, wait_closed
from tests.conformance.serverproc import ConformanceServer

WS = "/socket.io/?EIO=4&transport=websocket"


async def engine_ws(server: ConformanceServer) -> websockets.ClientConnection:
    ws = await websockets.connect(server.ws_url + WS)
    assert (await recv(ws)).startswith("0")
    return ws


@pytest.mark.parametrize(
    ("connect", "prefix", "auth_event"),
    [
        ("40", "40", '42["auth",{}]'),
        ('40{"token":"123"}', "40", '42["auth",{"token":"123"}]'),
        ("40/custom,", "40/custom,", '42/custom,["auth",{}]'),
        ('40/custom,{"token":"abc"}', "40/custom,", '42/custom,["auth",{"token":"abc"}]'),
    ],
)
async def test_connect_reply_carries_only_sid_then_handler_emits(
    conformance: ConformanceServer, connect: str, prefix: str, auth_event: str
) -> None:
    async with await engine_ws(conformance) as ws:
        await ws.send(connect)
        reply = await recv(ws, skip_pings=True)
        assert reply.startswith(prefix)
        handshake = json.loads(reply[len(prefix):])
        assert set(handshake) == {"sid"} and isinstance(handshake["sid"], str)
        assert await recv(ws, skip_pings=True) == auth_event


async def test_unknown_namespace_gets_connect_error(conformance: ConformanceServer) -> None:
    async with await engine_ws(conformance) as ws:
        await ws.send("40/random")
        assert await recv(ws, skip_pings=True) == '44/random,{"message":"Invalid namespace"}'


@pytest.mark.parametrize("frame", ["4abc", '40"string auth"', "40[1]", "41{}", '44{"a":1}'])
async def test_invalid_handshake_closes_the_connection(
    conformance: ConformanceServer, frame: str
) -> None:
    ws = await engine_ws(conformance)
    await ws.send(frame)
    await wait_closed(ws)


async def test_no_namespace_connect_closes_after_connect_timeout(
    conformance: ConformanceServer,
) -> None:
    ws = await engine_ws(conformance)
    # it answers pings meanwhile, so only the connect timeout (1 s) can close it
    async def pong_until_closed() -> None:
        try:
            while True:
                if await ws.recv() == "2":
                    await ws.send("3")
        except websockets.ConnectionClosed:
            return

    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(pong_until_closed(), 3)
    assert asyncio.get_running_loop().time() - started >= 0.9


async def test_disconnect_from_main_namespace_keeps_the_connection(
    conformance: ConformanceServer,
) -> None:
    ws = await sio_connect(conformance.ws_url)
    assert await recv(ws, skip_pings=True) == '42["auth",{}]'
    await ws.send("41")
    assert await recv(ws) == "2"  # next thing is a ping: still open
    await ws.send('42["message","ignored"]')  # no longer connected to "/": ignored
    await ws.send("3")
    assert await recv(ws) == "2"
    await ws.close()


async def test_disconnect_from_custom_namespace_keeps_main(
    conformance: ConformanceServer,
) -> None:
    ws = await sio_connect(conformance.ws_url)
    assert await recv(ws, skip_pings=True) == '42["auth",{}]'
    await ws.send("40/custom")
    assert (await recv(ws, skip_pings=True)).startswith("40/custom,")
    assert await recv(ws, skip_pings=True) == '42/custom,["auth",{}]'
    await ws.send("41/custom")
    await ws.send('42["message","message to main namespace"]')
    assert await recv(ws, skip_pings=True) == '42["message-back","message to main namespace"]'
    await ws.close()


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ('42["message",1,"2",{"3":[true]}]', '42["message-back",1,"2",{"3":[true]}]'),
        ('42456["message-with-ack",1,"2",{"3":[false]}]', '43456[1,"2",{"3":[false]}]'),
        ('42["message-with-ack"]', None),  # no ack id: nothing to answer
        ('421["message-with-ack"]', "431[]"),
        ('42["unknown-event",1]', None),
    ],
)
async def test_events_and_acks(
    conformance: ConformanceServer, sent: str, expected: str | None
) -> None:
    ws = await sio_connect(conformance.ws_url)
    await recv(ws, skip_pings=True)  # auth
    await ws.send(sent)
    await ws.send('42["message","marker"]')  # answered after whatever ``sent`` produced
    if expected is not None:
        assert await recv(ws, skip_pings=True) == expected
    assert await recv(ws, skip_pings=True) == '42["message-back","marker"]'
    await ws.close()


async def test_binary_event_is_echoed_with_attachments(conformance: ConformanceServer) -> None:
    ws = await sio_connect(conformance.ws_url)
    await recv(ws, skip_pings=True)
    await ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    await ws.send(bytes([1, 2, 3]))
    await ws.send(bytes([4, 5, 6]))
    assert await recv(ws, skip_pings=True) == (
        '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    )
    assert await recv(ws, skip_pings=True) == bytes([1, 2, 3])
    assert await recv(ws, skip_pings=True) == bytes([4, 5, 6])
    await ws.close()


async def test_binary_event_with_ack_gets_binary_ack(conformance: ConformanceServer) -> None:
    ws = await sio_connect(conformance.ws_url)
    await recv(ws, skip_pings=True)
    await ws.send(
        '452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    )
    await ws.send(bytes([1, 2, 3]))
    await ws.send(bytes([4, 5, 6]))
    assert await recv(ws, skip_pings=True) == (
        '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    )
    assert await recv(ws, skip_pings=True) == bytes([1, 2, 3])
    assert await recv(ws, skip_pings=True) == bytes([4, 5, 6])
    await ws.close()


@pytest.mark.parametrize(
    "frames",
    [
        ["4abc"],  # unknown packet type
        ["42{}"],  # payload is not an array
        ['42abc["message-with-ack",1]'],  # invalid ack id
        ['42[1,"x"]'],  # event name is not a string
        ['42["connect"]'],  # reserved event name
        ["42[]"],
        ['42["message"'],  # truncated JSON
        ["42"],  # EVENT without payload
        ['43["x"'],
        ['45-["message",{"_placeholder":true,"num":0}]'],  # no attachment count
        ['451-["message",{"_placeholder":true,"num":7}]', b"\x01"],  # bad attachment index
        ['451-["message",{"_placeholder":true,"num":0}]', '42["message"]'],  # text, not binary
        [b"\x00\x01\x02"],  # binary without a BINARY_EVENT announcing it
        ["4" + "9" * 20 + '["message"]'],  # unknown type 9
        ['4999999-["message"]'],  # absurd attachment count
        ['42' + "1" * 30 + '["message-with-ack"]'],  # ack id out of range
    ],
)
async def test_protocol_violations_close_only_that_connection(
    conformance: ConformanceServer, frames: list[str | bytes]
) -> None:
    bad = await sio_connect(conformance.ws_url)
    good = await sio_connect(conformance.ws_url)
    await recv(bad, skip_pings=True)
    await recv(good, skip_pings=True)
    for frame in frames:
        await bad.send(frame)
    await wait_closed(bad)
    await good.send('42["message","still fine"]')
    assert await recv(good, skip_pings=True) == '42["message-back","still fine"]'
    await good.close()


async def test_random_bytes_close_only_that_connection(conformance: ConformanceServer) -> None:
    import random

    rng = random.Random(1234)
    good = await sio_connect(conformance.ws_url)
    await recv(good, skip_pings=True)
    for _ in range(10):
        bad = await engine_ws(conformance)
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        await bad.send(noise.decode("latin-1"))  # text frame of garbage
        await bad.send(noise)
        await wait_closed(bad)
    await good.send('42["message","alive"]')
    assert await recv(good, skip_pings=True) == '42["message-back","alive"]'
    await good.close()


async def test_socketio_over_polling_connects_and_acks(http: httpx.AsyncClient) -> None:
    sid = await open_polling(http, "/socket.io/")
    params = {"EIO": "4", "transport": "polling", "sid": sid}
    await http.post("/socket.io/", params=params, content=b'40{"token":"p"}')
    received: list[str] = []
    while len(received) < 2:
        body = (await http.get("/socket.io/", params=params)).text
        received += [p for p in body.split("\x1e") if p != "2"]
    assert received[0].startswith("40{") and set(json.loads(received[0][2:])) == {"sid"}
    assert received[1] == '42["auth",{"token":"p"}]'
    await http.post("/socket.io/", params=params, content=b'4212["message-with-ack",1]')
    body = (await http.get("/socket.io/", params=params)).text
    assert "4312[1]" in body.split("\x1e")


async def test_refused_connect_gets_connect_error_and_can_retry(
    conformance: ConformanceServer,
) -> None:
    async with await engine_ws(conformance) as ws:
        await ws.send('40/e2e,{"token":"bad"}')
        assert await recv(ws, skip_pings=True) == '44/e2e,{"message":"Authentication failed"}'
        await ws.send('40/e2e,{"token":"good"}')
        assert (await recv(ws, skip_pings=True)).startswith("40/e2e,{")


async def test_recovery_pid_is_reused_when_the_handler_recovers(
    conformance: ConformanceServer,
) -> None:
    async with await engine_ws(conformance) as ws:
        await ws.send("40/e2e,{}")
        first = json.loads((await recv(ws, skip_pings=True))[len("40/e2e,"):])
        assert set(first) == {"sid", "pid"}
    async with await engine_ws(conformance) as ws:
        await ws.send("40/e2e," + json.dumps({"pid": first["pid"], "offset": "o41"}))
        second = json.loads((await recv(ws, skip_pings=True))[len("40/e2e,"):])
        assert second["pid"] == first["pid"] and second["sid"] != first["sid"]
        assert await recv(ws, skip_pings=True) == '42/e2e,["replay","o41"]'
    async with await engine_ws(conformance) as ws:
        await ws.send("40/e2e,{}")  # no pid: a fresh one
        third = json.loads((await recv(ws, skip_pings=True))[len("40/e2e,"):])
        assert third["pid"] != first["pid"]


async def test_sigterm_shuts_down_cleanly_and_clients_see_going_away(
    server_factory: object,
) -> None:
    server = server_factory()  # type: ignore[operator]
    ws = await sio_connect(server.ws_url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        sid = await open_polling(http, "/socket.io/")
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        poll = asyncio.create_task(http.get("/socket.io/", params=params))
        await asyncio.sleep(0.1)
        server.proc.terminate()
        await wait_closed(ws)
        assert ws.close_code == 1001  # going away: stock clients reconnect
        assert (await poll).text == "6"  # pending poll ended without a CLOSE packet
    assert await asyncio.to_thread(server.proc.wait, 5) == 0
