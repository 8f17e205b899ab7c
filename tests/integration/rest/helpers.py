"""HTTP helpers for the REST tests."""

import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from tests.conftest import ServerProcess

PASSWORD = "correct horse battery"


@dataclass
class User:
    id: str
    http: httpx.Client
    token: str


class Api:
    """httpx clients for one running server. Names get a per-test suffix so tests
    sharing a server never collide."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.suffix = uuid.uuid4().hex[:8]
        self.http = httpx.Client(base_url=url, timeout=30)
        self._clients: list[httpx.Client] = [self.http]

    def name(self, base: str) -> str:
        return f"{base}-{self.suffix}"

    def register(self, username: str, display_name: str | None = None,
                 password: str = PASSWORD) -> httpx.Response:
        body: dict[str, Any] = {"username": username, "password": password}
        if display_name is not None:
            body["displayName"] = display_name
        return self.http.post("/api/auth/register", json=body)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.http.post("/api/auth/login", json={"username": username,
                                                       "password": password})

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        client = httpx.Client(base_url=self.url, timeout=30, headers=headers)
        self._clients.append(client)
        return client

    def user(self, base: str) -> User:
        """Registers a fresh user and logs in."""
        user_id = self.name(base)
        response = self.register(user_id)
        assert response.status_code == 201, response.text
        response = self.login(user_id)
        assert response.status_code == 200, response.text
        token = response.json()["accessToken"]
        return User(user_id, self.client(token), token)

    def close(self) -> None:
        for client in self._clients:
            client.close()


def expect_error(response: httpx.Response, status: int, code: str,
                 field: str | None = None) -> dict[str, Any]:
    """The error body of the contract: status, a readable message, a code, the field."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["statusCode"] == status
    assert isinstance(body["error"], str) and body["error"]
    if field is not None:
        assert body["field"] == field, body
    return body


def new_chat(user: User, *members: User | str, title: str = "t") -> dict[str, Any]:
    ids = [m.id if isinstance(m, User) else m for m in members]
    response = user.http.post("/api/chats", json={"title": title, "memberIds": ids})
    assert response.status_code == 201, response.text
    chat: dict[str, Any] = response.json()
    return chat


def send(user: User, chat_id: str, content: str,
         client_message_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"content": content}
    if client_message_id is not None:
        body["clientMessageId"] = client_message_id
    response = user.http.post(f"/api/chats/{chat_id}/messages", json=body)
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


def stored_events(server: ServerProcess) -> int:
    """Rows in the event store, read straight from the database."""
    url = server.env["ESCHAT_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM eschat_events").fetchone()
        assert row is not None
        return int(row[0])
