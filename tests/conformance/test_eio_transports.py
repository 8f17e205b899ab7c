"""Engine.IO v4 messages, heartbeat, close and upgrade, over both transports, against the
/engine.io/ echo endpoint (engine.io-protocol README: Transports, Heartbeat, Upgrade,
Packet encoding)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os

import httpx
import pytest
import websockets

from tests.conformance.conftest import open_polling, recv, wait_closed
from tests.conformance.serverproc import ConformanceServer

EIO = "/engine.io/"


def q(sid: str) -> dict[str, str]:
    return {"EIO": "4", "transport": "polling", "sid": sid}


# --- HTTP long-polling -----------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    ["4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "4héllo ✓"],
)
async def test_polling_echoes_payloads_with_separator_and_base64(
    http: httpx.AsyncClient, payload: str
) -> None:
    sid = await open_polling(http)
    push = await http.post(EIO, params=q(sid), content=payload.encode())
    assert push.status_code == 200 and push.text == "ok"
    poll = await http.get(EIO, params=q(sid))
    assert poll.status_code == 200
    assert poll.text == payload


async def test_polling_invalid_packet_is_400_and_closes_the_session(
    http: httpx.AsyncClient,
) -> None:
    sid = await open_polling(http)
    push = await http.post(EIO, params=q(sid), content=b"abc")
    assert push.status_code == 400
    assert (await http.get(EIO, params=q(sid))).status_code == 400


@pytest.mark.parametrize("body", [b"bnot-base64!", b"\xff\xfe", b"4ok\x1e9bad", b""])
async def test_polling_undecodable_bodies_close_the_session(
    http: httpx.AsyncClient, body: bytes
) -> None:
    sid = await open_polling(http)
    assert (await http.post(EIO, params=q(sid), content=body)).status_code == 400
    assert (await http.get(EIO, params=q(sid))).status_code == 400


async def test_polling_duplicate_get_closes_the_session(http: httpx.AsyncClient) -> None:
    sid = await open_polling(http)
    first = asyncio.create_task(http.get(EIO, params=q(sid)))
    await asyncio.sleep(0.05)
    second = await http.get(EIO, params={**q(sid), "t": "burst"})
    assert second.status_code in (400, 500)
    first_response = await first
    assert first_response.status_code == 200 and first_response.text == "1"
    assert (await http.get(EIO, params=q(sid))).status_code == 400


async def test_polling_concurrent_post_closes_the_session(
    conformance: ConformanceServer, http: httpx.AsyncClient
) -> None:
    sid = await open_polling(http)
    # A POST whose body never completes keeps the first request open.
    reader, writer = await asyncio.open_connection("127.0.0.1", conformance.port)
    writer.write(
        f"POST {EIO}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 100\r\n\r\n4hel".encode()
    )
    await writer.drain()
    await asyncio.sleep(0.05)
    second = await http.post(EIO, params=q(sid), content=b"4x")
    assert second.status_code == 400
    assert (await http.get(EIO, params=q(sid))).status_code == 400
    writer.close()


async def test_polling_body_over_max_payload_is_refused_and_closes(
    server_factory: object,
) -> None:
    server = server_factory("--max-payload", "1000")  # type: ignore[operator]
    async with httpx.AsyncClient(base_url=server.url) as client:
        sid = await open_polling(client)
        big = await client.post(EIO, params=q(sid), content=b"4" + b"x" * 2000)
        assert big.status_code == 413
        assert (await client.get(EIO, params=q(sid))).status_code == 400
        other = await open_polling(client)  # the server still serves others
        assert (await client.post(EIO, params=q(other), content=b"4ok")).text == "ok"


async def test_polling_sends_pings_and_accepts_pongs(http: httpx.AsyncClient) -> None:
    sid = await open_polling(http)
    for _ in range(3):
        poll = await http.get(EIO, params=q(sid))
        assert poll.status_code == 200 and poll.text == "2"
        assert (await http.post(EIO, params=q(sid), content=b"3")).status_code == 200


async def test_polling_session_without_pong_times_out(http: httpx.AsyncClient) -> None:
    sid = await open_polling(http)
    await asyncio.sleep(0.3 + 0.2 + 0.15)
    assert (await http.get(EIO, params=q(sid))).status_code == 400


async def test_polling_close_packet_ends_pending_poll_with_noop(http: httpx.AsyncClient) -> None:
    sid = await open_polling(http)
    poll = asyncio.create_task(http.get(EIO, params=q(sid)))
    await asyncio.sleep(0.05)
    push = await http.post(EIO, params=q(sid), content=b"1")
    assert push.status_code == 200
    assert (await poll).text == "6"
    assert (await http.get(EIO, params=q(sid))).status_code == 400


async def test_polling_slow_reader_is_dropped(server_factory: object) -> None:
    server = server_factory("--max-buffered", "20000")  # type: ignore[operator]
    async with httpx.AsyncClient(base_url=server.url) as client:
        sid = await open_polling(client)
        for _ in range(5):  # the echo queues 5 x 5 kB: more than 20 kB unread
            await client.post(EIO, params=q(sid), content=b"4" + b"y" * 5000)
        assert (await client.get(EIO, params=q(sid))).status_code == 400


# --- WebSocket -------------------------------------------------------------------------


async def open_ws(server: ConformanceServer, **kwargs: object) -> websockets.ClientConnection:
    ws = await websockets.connect(f"{server.ws_url}{EIO}?EIO=4&transport=websocket", **kwargs)
    assert (await recv(ws)).startswith("0")
    return ws


async def test_websocket_echoes_text_and_binary(conformance: ConformanceServer) -> None:
    async with await open_ws(conformance) as ws:
        await ws.send("4hello")
        assert await recv(ws, skip_pings=True) == "4hello"
        await ws.send(bytes([1, 2, 3, 4]))
        assert await recv(ws, skip_pings=True) == bytes([1, 2, 3, 4])


@pytest.mark.parametrize("frame", ["abc", "", "0", "5", "2", "9x"])
async def test_websocket_invalid_packet_closes_only_that_session(
    conformance: ConformanceServer, frame: str
) -> None:
    async with await open_ws(conformance) as bad, await open_ws(conformance) as good:
        await bad.send(frame)
        await wait_closed(bad)
        await good.send("4still here")
        assert await recv(good, skip_pings=True) == "4still here"


async def test_websocket_frame_over_max_payload_closes_only_that_session(
    server_factory: object,
) -> None:
    server = server_factory("--max-payload", "1000")  # type: ignore[operator]
    async with await open_ws(server) as bad, await open_ws(server) as good:
        await bad.send("4" + "x" * 5000)
        await wait_closed(bad)
        assert bad.close_code in (1006, 1009)  # uWS drops the TCP connection at once
        await good.send("4fine")
        assert await recv(good, skip_pings=True) == "4fine"


async def test_websocket_heartbeat_pings_every_interval(conformance: ConformanceServer) -> None:
    async with await open_ws(conformance) as ws:
        for _ in range(3):
            assert await recv(ws, timeout=1.0) == "2"
            await ws.send("3")


async def test_websocket_without_pong_is_closed(conformance: ConformanceServer) -> None:
    ws = await open_ws(conformance)
    await wait_closed(ws, timeout=0.3 + 0.2 + 1.0)


async def test_websocket_close_packet_closes(conformance: ConformanceServer) -> None:
    ws = await open_ws(conformance)
    await ws.send("1")
    await wait_closed(ws)


async def test_websocket_slow_reader_is_disconnected(server_factory: object) -> None:
    server = server_factory("--max-buffered", "65536")  # type: ignore[operator]
    chunk = "4" + base64.b64encode(os.urandom(150_000)).decode()  # incompressible
    # max_queue=1: the client stops reading, so the server's output piles up.
    async with await open_ws(server, max_queue=1, max_size=None) as slow:
        sent = 0
        # 12 MB of echoes: more than socket buffers plus 64 kB. On a busy machine
        # the server may cut the connection while we are still sending.
        with contextlib.suppress(websockets.ConnectionClosed):
            for _ in range(60):
                await slow.send(chunk)
                sent += 1
        await asyncio.sleep(1.0)
        received = 0
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                message = await asyncio.wait_for(slow.recv(), 2)
                received += message != "2"
        assert received < sent
    async with await open_ws(server) as good:
        await good.send("4ok")
        assert await recv(good, skip_pings=True) == "4ok"


@pytest.mark.parametrize(("flag", "negotiated"), [("true", True), ("false", False)])
async def test_permessage_deflate_follows_the_compression_option(
    server_factory: object, flag: str, negotiated: bool
) -> None:
    server = server_factory("--compression", flag)  # type: ignore[operator]
    async with await open_ws(server) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert ("permessage-deflate" in extensions) is negotiated
        big = "4" + "compressible " * 500
        await ws.send(big)
        assert await recv(ws, skip_pings=True) == big


# --- upgrade ---------------------------------------------------------------------------


async def test_upgrade_from_polling_to_websocket(
    conformance: ConformanceServer, http: httpx.AsyncClient
) -> None:
    sid = await open_polling(http)
    await http.post(EIO, params=q(sid), content=b"4queued")  # echoed while still polling
    async with websockets.connect(
        f"{conformance.ws_url}{EIO}?EIO=4&transport=websocket&sid={sid}"
    ) as ws:
        pending = asyncio.create_task(http.get(EIO, params=q(sid)))
        first = await pending
        assert first.text == "4queued"
        pending = asyncio.create_task(http.get(EIO, params=q(sid)))
        await asyncio.sleep(0.05)
        await ws.send("2probe")
        assert await recv(ws) == "3probe"
        assert (await pending).text == "6"  # noop ends the pending poll
        await ws.send("5")
        await ws.send("4hello")
        assert await recv(ws, skip_pings=True) == "4hello"
        assert (await http.get(EIO, params=q(sid))).status_code == 400
        # a second WebSocket for the same session is closed
        async with websockets.connect(
            f"{conformance.ws_url}{EIO}?EIO=4&transport=websocket&sid={sid}"
        ) as second:
            await wait_closed(second)
        await ws.send("4after")
        assert await recv(ws, skip_pings=True) == "4after"


async def test_upgrade_probe_with_wrong_packet_is_refused(
    conformance: ConformanceServer, http: httpx.AsyncClient
) -> None:
    sid = await open_polling(http)
    async with websockets.connect(
        f"{conformance.ws_url}{EIO}?EIO=4&transport=websocket&sid={sid}"
    ) as ws:
        await ws.send("4too early")
        await wait_closed(ws)
    await http.post(EIO, params=q(sid), content=b"4still polling")
    assert (await http.get(EIO, params=q(sid))).text == "4still polling"
