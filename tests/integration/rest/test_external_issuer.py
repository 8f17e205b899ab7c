"""Tokens of a configured external issuer (RS256) provision their users."""

import time
from collections.abc import Callable

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import ServerProcess
from tests.integration.rest.helpers import Api, new_chat

ISSUER, AUDIENCE = "https://idp.example", "eschat"


def test_external_issuer_token_provisions_its_user(
    server_factory: Callable[..., ServerProcess], database_url: str,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    server = server_factory(database_url, jwt_public_key=public_pem, jwt_algorithms="RS256",
                            jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    api = Api(server.url)
    try:
        def external(sub: str, signer: rsa.RSAPrivateKey = key, **claims: object) -> httpx.Client:
            base = {"sub": sub, "exp": int(time.time()) + 60, "iss": ISSUER, "aud": AUDIENCE}
            return api.client(jwt.encode({**base, **claims}, signer, algorithm="RS256"))

        dora = external("dora@idp")
        me = dora.get("/api/me")
        assert me.status_code == 200, me.text
        assert me.json() == {"userId": "dora@idp", "displayName": "dora@idp", "external": True}
        # A provisioned user is a real user: others can put them in a chat.
        alice = api.user("alice")
        chat = new_chat(alice, "dora@idp")
        assert dora.get(f"/api/chats/{chat['id']}").status_code == 200

        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        refused = [external("eve", iss="https://evil.example"), external("eve", aud="other"),
                   external("eve", exp=int(time.time()) - 120), external("eve", other_key)]
        for client in refused:
            assert client.get("/api/me").status_code == 401
        # None of the refused tokens provisioned eve.
        assert alice.http.post("/api/chats", json={"memberIds": ["eve"]}).status_code == 404
    finally:
        api.close()
