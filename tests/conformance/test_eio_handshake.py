"""Engine.IO v4 handshake rules (engine.io-protocol README: Handshake, Transports)."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.conformance.conftest import recv
from tests.conformance.serverproc import ConformanceServer

PATHS = ["/engine.io/", "/socket.io/"]


@pytest.mark.parametrize("path", PATHS)
async def test_polling_handshake_opens_a_session_with_the_five_fields(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path, params={"EIO": "4", "transport": "polling"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("0")
    value = json.loads(response.text[1:])
    assert set(value) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert isinstance(value["sid"], str) and value["sid"]
    assert value["upgrades"] == ["websocket"]
    assert (value["pingInterval"], value["pingTimeout"], value["maxPayload"]) == (
        300, 200, 1_000_000
    )


@pytest.mark.parametrize("path", PATHS)
async def test_websocket_handshake_opens_a_session_without_upgrades(
    conformance: ConformanceServer, path: str
) -> None:
    async with websockets.connect(f"{conformance.ws_url}{path}?EIO=4&transport=websocket") as ws:
        message = await recv(ws)
        assert message.startswith("0")
        value = json.loads(message[1:])
        assert set(value) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert value["upgrades"] == []
        assert value["maxPayload"] == 1_000_000


async def test_each_session_gets_its_own_sid(http: httpx.AsyncClient) -> None:
    sids = set()
    for _ in range(5):
        response = await http.get("/engine.io/", params={"EIO": "4", "transport": "polling"})
        sids.add(json.loads(response.text[1:])["sid"])
    assert len(sids) == 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"transport": "polling"}, 5),
        ({"EIO": "abc", "transport": "polling"}, 5),
        ({"EIO": "3", "transport": "polling"}, 5),
        ({"EIO": "4"}, 0),
        ({"EIO": "4", "transport": "abc"}, 0),
    ],
)
async def test_bad_eio_or_transport_is_http_400_with_code(
    http: httpx.AsyncClient, params: dict[str, str], code: int
) -> None:
    response = await http.get("/socket.io/", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and isinstance(body["message"], str)


async def test_post_without_sid_and_other_methods_are_refused(http: httpx.AsyncClient) -> None:
    params = {"EIO": "4", "transport": "polling"}
    post = await http.post("/engine.io/", params=params, content="4hello")
    assert post.status_code == 400
    assert post.json()["code"] == 2
    put = await http.put("/engine.io/", params=params, content="x")
    assert put.status_code == 400


async def test_unknown_sid_is_400_session_id_unknown(http: httpx.AsyncClient) -> None:
    params = {"EIO": "4", "transport": "polling", "sid": "nope"}
    for response in (
        await http.get("/engine.io/", params=params),
        await http.post("/engine.io/", params=params, content="4x"),
    ):
        assert response.status_code == 400
        assert response.json() == {"code": 1, "message": "Session ID unknown"}


@pytest.mark.parametrize(
    "query", ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"]
)
async def test_websocket_with_bad_query_is_refused(
    conformance: ConformanceServer, query: str
) -> None:
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(f"{conformance.ws_url}/engine.io/?{query}")
    assert info.value.response.status_code == 400


async def test_websocket_with_unknown_sid_is_refused(conformance: ConformanceServer) -> None:
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{conformance.ws_url}/engine.io/?EIO=4&transport=websocket&sid=x")


async def test_cors_reflects_allowed_origin_with_credentials(
    server_factory: object,
) -> None:
    server = server_factory("--cors-origin", "http://good.example")  # type: ignore[operator]
    params = {"EIO": "4", "transport": "polling"}
    async with httpx.AsyncClient(base_url=server.url) as client:
        good = await client.get("/socket.io/", params=params,
                                headers={"Origin": "http://good.example"})
        assert good.headers["access-control-allow-origin"] == "http://good.example"
        assert good.headers["access-control-allow-credentials"] == "true"
        bad = await client.get("/socket.io/", params=params,
                               headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in bad.headers
        preflight = await client.options(
            "/socket.io/", params=params,
            headers={"Origin": "http://good.example", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "http://good.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == "content-type"
