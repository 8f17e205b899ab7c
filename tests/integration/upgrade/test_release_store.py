"""A store written by release 37b8bd6 (before issue 12) still loads and serves after
the upgrade: every message, receipt, unread count and membership is as that release
served it, on SQLite and PostgreSQL; commands on old aggregates still work; and a
rebuild of the read models from the old events gives the same."""

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import PG_URL, ServerProcess, reset_postgres

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "release-37b8bd6"
PASSWORD = "fixture-password"
USERS = ["alice", "bob", "carol", "dave", "erin"]


def restore(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        store = tmp_path / "store"
        shutil.copytree(FIXTURE / "sqlite", store)
        return f"sqlite:///{store}/eschat.db"
    reset_postgres()
    with psycopg.connect(PG_URL, autocommit=True) as conn:  # the dump creates its own types
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(FIXTURE / "postgres.sql"),
                    PG_URL], check=True, capture_output=True)
    return PG_URL


class Client:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.tokens: dict[str, str] = {}
        for user in USERS:
            r = self.http.post("/api/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["accessToken"]

    def call(self, user: str, method: str, path: str, body: Any = None) -> Any:
        r = self.http.request(method, path, json=body,
                              headers={"Authorization": f"Bearer {self.tokens[user]}"})
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json() if r.content else None


def served(api: Client, chats: dict[str, str]) -> dict[str, Any]:
    """The same facts make_store.py recorded, as this release serves them."""
    result: dict[str, Any] = {"chats": chats, "users": {}, "messages": {}}
    for user in USERS:
        result["users"][user] = {
            c["id"]: {"title": c["title"], "memberIds": sorted(c["memberIds"]),
                      "unreadCount": c["unreadCount"],
                      "lastMessageId": (c["lastMessage"] or {}).get("id")}
            for c in api.call(user, "GET", "/api/chats")
        }
    owner = {chats["team"]: "alice", chats["pair"]: "alice", chats["big"]: "bob"}
    for chat, user in owner.items():
        page = api.call(user, "GET", f"/api/chats/{chat}/messages?limit=200")
        result["messages"][chat] = [
            {k: m[k] for k in ("id", "chatId", "senderId", "content", "seq", "createdAt",
                               "clientMessageId", "deliveredTo", "readBy")}
            for m in page["messages"]
        ]
    return result


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_release_store_serves_the_same_after_upgrade(
    backend: str, tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    expected = json.loads((FIXTURE / f"facts-{backend}.json").read_text())
    chats = expected["chats"]
    server = server_factory(restore(backend, tmp_path), ESCHAT_NODE_ID="upgraded-node")
    api = Client(server.url)
    assert served(api, chats) == expected

    # The old release's node was killed with bob and erin connected: its lease lapsed
    # long ago, so they are offline.
    presence = api.call("alice", "GET", "/api/presence?userIds=bob,erin")
    assert [p["online"] for p in presence] == [False, False]

    # Old aggregates take new commands: a retry of an old clientMessageId answers with
    # the first message; reading the last team message clears bob's unread count.
    team = chats["team"]
    first = expected["messages"][team][0]
    retry = api.call("alice", "POST", f"/api/chats/{team}/messages",
                     {"content": "again", "clientMessageId": first["clientMessageId"]})
    assert retry["id"] == first["id"] and retry["content"] == first["content"]
    last = expected["messages"][team][-1]
    api.call("bob", "POST", f"/api/chats/{team}/read", {"messageId": last["id"]})
    bob_team = next(c for c in api.call("bob", "GET", "/api/chats") if c["id"] == team)
    assert bob_team["unreadCount"] == 0
    api.call("alice", "DELETE", f"/api/chats/{team}/members/dave")
    new = api.call("carol", "POST", f"/api/chats/{team}/messages", {"content": "after upgrade"})
    assert new["seq"] > last["seq"]
    page = api.call("alice", "GET", f"/api/chats/{team}/messages?limit=200")["messages"]
    old_last = next(m for m in page if m["id"] == last["id"])
    assert "bob" in old_last["readBy"] and "bob" in old_last["deliveredTo"]
    after = served(api, chats)

    # Read models rebuilt from the old (and new) events give the same answers.
    server.eschat("projections", "rebuild")
    assert served(api, chats) == after


CREATORS = {"team": "alice", "pair": "alice", "big": "bob"}  # tests/fixtures/make_store.py


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_every_group_of_the_release_store_is_owned_by_its_creator_after_upgrade(
    backend: str, tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    expected = json.loads((FIXTURE / f"facts-{backend}.json").read_text())
    chats = expected["chats"]
    server = server_factory(restore(backend, tmp_path), ESCHAT_NODE_ID="upgraded-node")
    api = Client(server.url)

    def roles() -> dict[str, Any]:
        found = {}
        for name, chat_id in chats.items():
            chat = api.call(CREATORS[name], "GET", f"/api/chats/{chat_id}")
            found[name] = (chat["kind"], chat["ownerId"], chat["admins"], chat["description"])
            listed = {c["id"]: c for c in api.call(CREATORS[name], "GET", "/api/chats")}
            assert (listed[chat_id]["ownerId"], listed[chat_id]["admins"]) == (
                chat["ownerId"], chat["admins"])
        return found

    assert roles() == {name: ("group", creator, [creator], "")
                       for name, creator in CREATORS.items()}
    assert served(api, chats) == expected  # and nothing else changed

    # The aggregates agree with the read models: the creator may run the chat, others not.
    team = chats["team"]
    r = api.http.put(f"/api/chats/{team}/admins/bob",
                     headers={"Authorization": f"Bearer {api.tokens['carol']}"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    api.call("alice", "PUT", f"/api/chats/{team}/admins/bob")
    api.call("bob", "POST", f"/api/chats/{chats['big']}/owner", {"userId": "carol"})
    assert api.call("bob", "GET", f"/api/chats/{team}")["admins"] == ["alice", "bob"]
    big = api.call("carol", "GET", f"/api/chats/{chats['big']}")
    assert (big["ownerId"], big["admins"]) == ("carol", ["bob", "carol"])

    # A rebuild from the old and new events gives the same roles.
    before = roles()
    server.eschat("projections", "rebuild")
    assert roles() == before


ALICE_WROTE = [b"team message 0", b"team message 3", b"retried? no, new", b"pair 0", b"pair 2"]


def store_holding(backend: str, tmp_path: Path, needles: list[bytes]) -> set[bytes]:
    """Which of `needles` a file of the SQLite store (after a checkpoint) or a row of
    any PostgreSQL table holds."""
    found: set[bytes] = set()
    if backend == "sqlite":
        import sqlite3

        folder = tmp_path / "store"
        for db in folder.glob("*.db"):
            conn = sqlite3.connect(db, timeout=30)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
        for path in folder.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                found.update(n for n in needles if n in content)
        return found
    with psycopg.connect(PG_URL) as conn:
        for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for v in row:
                    text = bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                    found.update(n for n in needles if n in text)
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_erasing_a_user_of_the_release_store_rewrites_her_plaintext_events(
    backend: str, tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    """The release stored message content in plaintext: erasing alice nulls it in place
    in her stored events (and read models), so it is in no file or table afterwards."""
    expected = json.loads((FIXTURE / f"facts-{backend}.json").read_text())
    chats = expected["chats"]
    server = server_factory(restore(backend, tmp_path), ESCHAT_NODE_ID="upgraded-node")
    api = Client(server.url)
    assert store_holding(backend, tmp_path, ALICE_WROTE) == set(ALICE_WROTE)

    r = api.http.delete("/api/me", headers={"Authorization": f"Bearer {api.tokens['alice']}"})
    assert r.status_code == 204, r.text
    assert api.http.get("/api/me", headers={
        "Authorization": f"Bearer {api.tokens['alice']}"}).status_code == 401

    def pages() -> dict[str, list[tuple[str, str | None, bool]]]:
        return {name: [(m["senderId"], m["content"], m["erased"]) for m in api.call(
            "bob", "GET", f"/api/chats/{chats[name]}/messages?limit=200")["messages"]]
            for name in ("team", "pair")}

    seen = pages()
    assert seen["pair"] == [("alice", None, True)] * 3 + [("bob", "pair reply", False)]
    assert [c for s, c, _ in seen["team"] if s != "alice"] == ["hello from bob", "after restart"]
    assert all(c is None and e for s, c, e in seen["team"] if s == "alice")
    assert store_holding(backend, tmp_path, ALICE_WROTE) == set()
    assert store_holding(backend, tmp_path, [b"hello from bob", b"pair reply"]) == {
        b"hello from bob", b"pair reply"}

    server.eschat("projections", "rebuild")
    assert pages() == seen
