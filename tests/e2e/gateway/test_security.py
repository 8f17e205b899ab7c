"""Refused tokens and non-members: the contract's errors, nothing delivered,
nothing stored."""

import json
import time
from collections.abc import Callable

import httpx
import jwt
import pytest
import socketio
import websockets

from tests.conftest import ServerProcess
from tests.e2e.clients import PyClient
from tests.e2e.conftest import create_chat, history

SECRET = "test-secret-" + "x" * 32  # what tests/conftest.py gives the server


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess], sqlite_url: str) -> ServerProcess:
    return server_factory(sqlite_url)


def signed(sub: str, *, exp_in: int = 600, key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + exp_in}, key, algorithm=alg)


def unsigned(sub: str) -> str:
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = jwt.utils.base64url_encode(
        json.dumps({"sub": sub, "exp": int(time.time()) + 600}).encode())
    return f"{header.decode()}.{body.decode()}."


BAD_TOKENS = {
    "expired beyond the leeway": lambda: signed("alice", exp_in=-120),
    "wrong signature": lambda: signed("alice", key="another-secret-" + "y" * 32),
    "alg none": lambda: unsigned("alice"),
    "algorithm outside the list": lambda: signed("alice", alg="HS512"),
    "garbage": lambda: "not.a.jwt",
    "unknown user with our key": lambda: signed("nobody-registered"),
}


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_bad_tokens_are_refused_with_connect_error(
    server: ServerProcess, make_token: Callable[[], str]
) -> None:
    server.token("alice")  # alice exists: only the token is wrong
    client = socketio.AsyncClient(reconnection=False)
    errors: list[object] = []
    client.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(server.url, auth={"token": make_token()},
                             transports=["websocket"])
    assert errors == [{"message": "Authentication failed"}]


async def test_no_token_gets_the_exact_connect_error_packet(server: ServerProcess) -> None:
    ws_url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(ws_url) as ws:
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40")
        assert await ws.recv() == '44{"message":"Authentication failed"}'


async def test_token_within_the_leeway_and_header_auth_are_accepted(
    server: ServerProcess,
) -> None:
    server.token("alice")
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(server.url, auth={"token": signed("alice", exp_in=-10)},
                         transports=["websocket"])
    await client.disconnect()
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(server.url, headers={"Authorization": "Bearer " + signed("alice")},
                         transports=["websocket"])
    await client.disconnect()


async def test_a_non_member_can_neither_join_send_nor_read(
    server: ServerProcess, py_clients: Callable[[], PyClient]
) -> None:
    alice_token, _ = server.token("alice"), server.token("bob")
    mallory_token = server.token("mallory")
    chat_id = create_chat(server.url, alice_token, "bob")
    alice = py_clients()
    await alice.connect(server.url, alice_token)
    sent = await alice.call("send-message", {"chatId": chat_id, "content": "secret"})

    mallory = py_clients()
    await mallory.connect(server.url, mallory_token)
    forbidden = {"success": False, "error": "not a member of this chat", "code": "forbidden"}
    assert await mallory.call("join-chat", {"chatId": chat_id}) == forbidden
    assert await mallory.call("send-message", {"chatId": chat_id, "content": "hi"}) == forbidden
    assert await mallory.call("message-read", {"chatId": chat_id,
                                               "messageId": sent["messageId"]}) == forbidden
    assert await mallory.call("message-delivered", {"chatId": chat_id,
                                                    "messageId": sent["messageId"]}) == forbidden
    assert await mallory.call("typing-start", {"chatId": chat_id}) == forbidden

    await alice.call("send-message", {"chatId": chat_id, "content": "still secret"})
    await alice.event("new-message", lambda a: a[0]["content"] == "still secret")
    assert mallory.events("new-message") == []
    assert mallory.events("user-typing") == []
    [first, second] = history(server.url, alice_token, chat_id)
    assert first["readBy"] == [] and first["deliveredTo"] == []
    assert second["content"] == "still secret"
    response = httpx.get(f"{server.url}/api/chats/{chat_id}/messages",
                         headers={"Authorization": f"Bearer {mallory_token}"})
    assert response.status_code == 403


async def test_an_external_issuer_token_connects_and_provisions_its_user(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
    py_clients: Callable[[], PyClient],
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    server = server_factory(sqlite_url, jwt_public_key=public_pem, jwt_algorithms="RS256",
                            jwt_issuer="https://idp.example")
    claims = {"sub": "dora@idp", "exp": int(time.time()) + 60, "iss": "https://idp.example"}
    dora = py_clients()
    await dora.connect(server.url, jwt.encode(claims, key, algorithm="RS256"),
                       transports=["websocket"])
    assert await dora.event("connected") == [{"userId": "dora@idp"}]

    # Provisioned on first sight: others can now put dora in a chat.
    alice_token = server.token("alice")
    chat_id = create_chat(server.url, alice_token, "dora@idp")
    alice = py_clients()
    await alice.connect(server.url, alice_token, transports=["websocket"])
    await alice.call("send-message", {"chatId": chat_id, "content": "hi dora"})
    [message] = await dora.event("new-message")
    assert message["content"] == "hi dora"

    forged = socketio.AsyncClient(reconnection=False)
    wrong_issuer = jwt.encode({**claims, "iss": "https://evil.example"}, key, algorithm="RS256")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await forged.connect(server.url, auth={"token": wrong_issuer}, transports=["websocket"])
