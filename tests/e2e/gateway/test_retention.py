"""Retention on SQLite and PostgreSQL: a chat with `retentionDays: 1` and messages dated
two days back (written by an in-process node whose event clock is set back); after
`eschat retention sweep` they are erased everywhere, a rebuild included, the newer ones
stay, and so does a chat that keeps its messages. Then the server's default
(`ESCHAT_RETENTION_DAYS`) with an injected `--now`. Bad input stores nothing."""

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import eventsourcing.domain
import httpx
import psycopg
import pytest

from domain.times import wire_time
from tests.conftest import PG_URL, ServerProcess
from tests.e2e.conftest import auth, history
from tests.integration.core.conftest import make_container


@pytest.fixture
def two_days_ago(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Events triggered in this process are dated two days back until `restore()`."""
    def restore() -> None:
        monkeypatch.undo()

    then = datetime.now(UTC) - timedelta(days=2)
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: then)
    yield restore


async def seed_old_chats(url: str, data: Path, marker: str) -> tuple[str, str, list[str]]:
    """Two chats of alice and bob with three messages each, dated two days back."""
    container = make_container(url, data)
    container.start()
    try:
        service = container.service
        for user in ("alice", "bob"):
            await service.ensure_user(user)
        kept = await service.create_chat("alice", "keeps", ["bob"])
        swept = await service.create_chat("alice", "forgets", ["bob"])
        old = []
        for chat in (swept, kept):
            for i in range(3):
                sent = await service.send_message("alice" if i % 2 == 0 else "bob", chat.id,
                                                  f"old {i} {marker} {chat.title}")
                if chat is swept:
                    old.append(sent.message.id)
        await service.edit_message("alice", swept.id, old[0], f"old edited {marker}")
        return swept.id, kept.id, old
    finally:
        container.close()


def store_has_text(url: str, data: Path, needle: bytes) -> bool:
    if url.startswith("postgres"):
        with psycopg.connect(PG_URL) as conn:
            for (table,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    if any(needle in (bytes(v) if isinstance(v, bytes | memoryview)
                                      else str(v).encode()) for v in row):
                        return True
        return False
    for db in data.glob("*.db"):
        conn = sqlite3.connect(db, timeout=30)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    return any(needle in p.read_bytes() for p in data.rglob("*") if p.is_file())


async def test_a_sweep_erases_messages_older_than_the_chat_keeps(
    backend: tuple[str, Path],
    server_factory: Callable[..., ServerProcess],
    two_days_ago: Callable[[], None],
) -> None:
    url, data = backend
    marker = f"OLD-{uuid.uuid4().hex}"
    swept_id, kept_id, old_ids = await seed_old_chats(url, data, marker)
    two_days_ago()  # from here on, real time
    server = server_factory(url, data_dir=data)
    alice, bob = server.token("alice"), server.token("bob")

    # only admins set retentionDays; bad values are refused and store nothing
    chat_url = f"{server.url}/api/chats/{swept_id}"
    for token, body, status in ((bob, {"retentionDays": 1}, 403),
                                (alice, {"retentionDays": -1}, 400),
                                (alice, {"retentionDays": 0}, 400),
                                (alice, {"retentionDays": 36_501}, 400),
                                (alice, {"retentionDays": 10**20}, 400),
                                (alice, {"retentionDays": 1.5}, 400),
                                (alice, {"retentionDays": True}, 400)):
        response = httpx.patch(chat_url, headers=auth(token), json=body)
        assert response.status_code == status, (body, response.text)
        assert "detail" in response.json() or "error" in response.json()
    assert "0 messages erased" in server.eschat("retention", "sweep")  # nothing set yet
    response = httpx.patch(chat_url, headers=auth(alice), json={"retentionDays": 1})
    assert response.status_code == 200, response.text

    new = []
    for i in range(2):
        response = httpx.post(f"{chat_url}/messages", headers=auth(bob),
                              json={"content": f"new {i}"})
        assert response.status_code == 201
        new.append(response.json()["id"])
    before = {m["id"]: m for m in history(server.url, bob, swept_id)}
    assert before[old_ids[1]]["content"].startswith("old 1 " + marker)
    assert store_has_text(url, data, marker.encode())

    out = server.eschat("retention", "sweep")
    assert "3 messages erased" in out, out

    after = {m["id"]: m for m in history(server.url, bob, swept_id)}
    for message_id in old_ids:
        assert after[message_id]["content"] is None and after[message_id]["erased"] is True
        assert after[message_id]["seq"] == before[message_id]["seq"]  # keeps its place
    for i, message_id in enumerate(new):
        assert after[message_id]["content"] == f"new {i}" and after[message_id]["erased"] is False
    edits = httpx.get(f"{chat_url}/messages/{old_ids[0]}/edits", headers=auth(bob)).json()
    assert [e["content"] for e in edits] == [None, None]
    kept = history(server.url, bob, kept_id)
    assert [m["content"].split()[1] for m in kept] == ["0", "1", "2"]  # no retention there
    events = httpx.get(f"{server.url}/api/events?limit=1000", headers=auth(bob)).text
    assert f"{marker} forgets" not in events and f"{marker} keeps" in events

    # the log itself no longer yields the text (the authors' keys live on): a rebuild
    server.eschat("projections", "rebuild")
    assert {m["id"]: m for m in history(server.url, bob, swept_id)} == after
    assert not store_has_text(url, data, f"{marker} forgets".encode())
    assert not store_has_text(url, data, f"old edited {marker}".encode())
    # a sweep again erases nothing more
    assert "0 messages erased" in server.eschat("retention", "sweep")

    # the server's default, at an injected time: a day and a half from now it erases the
    # other chat's two-day-old messages, not the new ones of the first
    later = wire_time(datetime.now(UTC) + timedelta(hours=12))
    out = server.eschat("retention", "sweep", "--now", later, "--retention-days", "2")
    assert "3 messages erased" in out, out
    assert all(m["erased"] for m in history(server.url, bob, kept_id))
    assert [m["content"] for m in history(server.url, bob, swept_id) if not m["erased"]] == [
        "new 0", "new 1"]
    await asyncio.sleep(0)


async def test_serve_sweeps_by_itself(
    backend: tuple[str, Path],
    server_factory: Callable[..., ServerProcess],
    two_days_ago: Callable[[], None],
) -> None:
    """With ESCHAT_RETENTION_SWEEP_S set, the node that applies the projections sweeps."""
    url, data = backend
    marker = f"OLD-{uuid.uuid4().hex}"
    swept_id, kept_id, old_ids = await seed_old_chats(url, data, marker)
    two_days_ago()
    server = server_factory(url, data_dir=data, retention_sweep_s="0.5")
    alice, bob = server.token("alice"), server.token("bob")
    response = httpx.patch(f"{server.url}/api/chats/{swept_id}", headers=auth(alice),
                           json={"retentionDays": 1})
    assert response.status_code == 200, response.text
    for _ in range(200):
        if all(m["erased"] for m in history(server.url, bob, swept_id)):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("no sweep erased the old messages")
    assert not any(m["erased"] for m in history(server.url, bob, kept_id))
    assert "retention sweep: 3 messages erased" in server.log()
