"""Packets built to hurt, each against the Socket.IO endpoint: the offending connection
is closed as the protocol says (parse error), the request that carried it is answered,
and the server goes on serving everybody else."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.conformance.conftest import recv, sio_connect, wait_closed
from tests.conformance.serverproc import ConformanceServer

SIO = "/socket.io/"

HOSTILE = [
    "42" + "[" * 5000 + "]" * 5000,                       # 5,000-deep JSON
    '42["message",' + "{\"a\":" * 40 + "1" + "}" * 40 + "]",  # deeper than 32
    "42" + "9" * 30 + '["message-with-ack"]',             # ack id beyond 2^53
    "40/" + "n" * 5000 + ",{}",                           # namespace of 5,000 characters
    "45999999-[\"message\",{\"_placeholder\":true,\"num\":0}]",  # absurd attachment count
    '42["message",' + "9" * 5000 + "]",                   # a 5,000-digit number is fine JSON
]


def q(sid: str) -> dict[str, str]:
    return {"EIO": "4", "transport": "polling", "sid": sid}


async def connected_polling(http: httpx.AsyncClient) -> str:
    response = await http.get(SIO, params={"EIO": "4", "transport": "polling"})
    sid = str(json.loads(response.text[1:])["sid"])
    assert (await http.post(SIO, params=q(sid), content=b"40")).status_code == 200
    assert (await http.get(SIO, params=q(sid))).text.startswith("40{")
    return sid


@pytest.mark.parametrize("packet", HOSTILE, ids=range(len(HOSTILE)))
async def test_a_hostile_polling_post_is_answered_and_closes_only_its_session(
    conformance: ConformanceServer, http: httpx.AsyncClient, packet: str
) -> None:
    bystander = await connected_polling(http)
    sid = await connected_polling(http)
    post = await http.post(SIO, params=q(sid), content=packet.encode())
    assert post.status_code in (200, 400)  # answered, not left hanging nor a 5xx
    if packet.startswith('42["message",9'):
        assert post.status_code == 200  # big numbers are valid JSON: the session lives on
        return
    after = await http.get(SIO, params=q(sid))
    assert after.status_code == 400  # the session was closed: its sid is unknown now
    echo = await http.post(SIO, params=q(bystander), content=b'42["message-with-ack"]')
    assert echo.status_code == 200
    assert conformance.alive()


@pytest.mark.parametrize("packet", HOSTILE[:5], ids=range(5))
async def test_a_hostile_websocket_frame_closes_only_that_connection(
    conformance: ConformanceServer, packet: str
) -> None:
    bystander = await sio_connect(conformance.ws_url)
    victim = await sio_connect(conformance.ws_url)
    await victim.send(packet)
    await wait_closed(victim)
    await bystander.send('421["message-with-ack",1]')
    reply = await recv(bystander, skip_pings=True)
    while reply.startswith('42["auth"'):  # the reference server's own emit after connect
        reply = await recv(bystander, skip_pings=True)
    assert reply == "431[1]"
    await bystander.close()
    assert conformance.alive()


async def test_random_bytes_on_a_websocket_close_it(conformance: ConformanceServer) -> None:
    ws = await websockets.connect(f"{conformance.ws_url}/socket.io/?EIO=4&transport=websocket")
    assert (await recv(ws)).startswith("0")
    await ws.send(bytes(range(256)))  # binary data when no attachment is expected
    await wait_closed(ws)
    assert conformance.alive()
