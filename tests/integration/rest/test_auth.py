"""Register, login, /api/me, and who gets a 401."""

import time

import jwt

from tests.integration.rest.helpers import PASSWORD, Api, expect_error

OUR_SECRET = "test-secret-" + "x" * 32  # the key tests/conftest.py gives every server
NIL = "00000000-0000-0000-0000-000000000000"
PROTECTED = [
    ("GET", "/api/me", None),
    ("GET", "/api/chats", None),
    ("POST", "/api/chats", {"memberIds": []}),
    ("GET", f"/api/chats/{NIL}", None),
    ("GET", f"/api/chats/{NIL}/messages", None),
    ("POST", f"/api/chats/{NIL}/messages", {"content": "x"}),
    ("POST", f"/api/chats/{NIL}/read", {"messageId": NIL}),
    ("POST", f"/api/chats/{NIL}/members", {"userId": "x"}),
    ("DELETE", f"/api/chats/{NIL}/members/x", None),
    ("GET", "/api/presence?userIds=a", None),
    ("GET", "/api/events", None),
]


def test_register_login_and_me(api: Api) -> None:
    alice = api.name("alice")
    response = api.register(alice, display_name="Alice A.")
    assert response.status_code == 201
    assert response.json() == {"userId": alice}
    expect_error(api.register(alice), 409, "conflict")

    login = api.login(alice)
    assert login.status_code == 200
    body = login.json()
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 3600
    claims = jwt.decode(body["accessToken"], OUR_SECRET, algorithms=["HS256"])
    assert claims["sub"] == alice

    me = api.client(body["accessToken"]).get("/api/me")
    assert me.status_code == 200
    assert me.json() == {"userId": alice, "displayName": "Alice A.", "external": False}
    # The scheme name is case-insensitive.
    lower = api.client(Authorization=f"bearer {body['accessToken']}").get("/api/me")
    assert lower.status_code == 200

    expect_error(api.login(alice, "wrong password"), 401, "unauthorized")
    expect_error(api.login(api.name("nobody"), PASSWORD), 401, "unauthorized")


def test_bad_register_and_login_bodies_name_the_field(api: Api) -> None:
    post = api.http.post
    bob = api.name("bob")
    expect_error(post("/api/auth/register", json={"username": bob, "password": "short"}),
                 400, "invalid", "password")
    expect_error(post("/api/auth/register", json={"username": "has space",
                                                   "password": PASSWORD}),
                 400, "invalid", "username")
    expect_error(post("/api/auth/register", json={"password": PASSWORD}),
                 400, "invalid", "username")
    expect_error(post("/api/auth/register", json={"username": 5, "password": PASSWORD}),
                 400, "invalid", "username")
    expect_error(post("/api/auth/register", json={"username": bob, "password": PASSWORD,
                                                   "displayName": "x" * 101}),
                 400, "invalid", "displayName")
    expect_error(post("/api/auth/login", json={"username": bob}), 400, "invalid", "password")
    expect_error(post("/api/auth/login", content=b"{not json",
                      headers={"content-type": "application/json"}), 400, "invalid", "body")
    expect_error(post("/api/auth/register", json=[1, 2]), 400, "invalid")
    # None of it registered bob.
    assert api.register(bob).status_code == 201


def _bad_tokens(user_id: str) -> dict[str, str]:
    now = int(time.time())
    return {
        "garbage": "not-a-jwt",
        "other key": jwt.encode({"sub": user_id, "exp": now + 60}, "another-secret-" + "y" * 32,
                                algorithm="HS256"),
        "expired": jwt.encode({"sub": user_id, "exp": now - 120}, OUR_SECRET, algorithm="HS256"),
        "alg none": jwt.encode({"sub": user_id, "exp": now + 60}, None, algorithm="none"),
        "no exp": jwt.encode({"sub": user_id}, OUR_SECRET, algorithm="HS256"),
        "our key, unknown user": jwt.encode({"sub": user_id + "-ghost", "exp": now + 60},
                                            OUR_SECRET, algorithm="HS256"),
    }


def test_missing_or_bad_tokens_get_401_everywhere(api: Api) -> None:
    alice = api.user("alice")  # alice exists: only the token is wrong below
    anonymous = api.client()
    bad = {name: api.client(token) for name, token in _bad_tokens(alice.id).items()}
    bad["basic auth"] = api.client(Authorization="Basic YWxpY2U6eA==")
    for method, path, body in PROTECTED:
        response = anonymous.request(method, path, json=body)
        expect_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
        for name, client in bad.items():
            assert client.request(method, path, json=body).status_code == 401, (name, path)
    # The valid counterpart, signed the same way, is accepted.
    good = api.client(jwt.encode({"sub": alice.id, "exp": int(time.time()) + 60}, OUR_SECRET,
                                 algorithm="HS256"))
    assert good.get("/api/me").status_code == 200
