"""Erasure by crypto-shredding, on SQLite and PostgreSQL, with a real server, stock
clients, a real Kafka-protocol broker (Tansu) and the CLI: alice writes messages with a
unique marker, edits one and gets replies; she erases herself; the marker is then found
nowhere (files, tables, REST, recovery, /api/events, Kafka, a rebuild) while bob's
replies and the chat stay, and her token is refused."""

import asyncio
import base64
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import PG_URL, ServerProcess
from tests.e2e.clients import JsClient
from tests.e2e.conftest import auth, create_chat, history
from tests.integration.kafka.broker import TansuBroker, create_topic, read_topic

TOPIC = "erasure"


@pytest.fixture
def kafka_broker(tmp_path: Path) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path / "tansu")
    broker.start()
    yield broker
    broker.stop()




def files_holding(data: Path, needle: bytes) -> list[str]:
    """Every file of the data folder holding `needle`, after a checkpoint of each database."""
    for db in data.glob("*.db"):
        conn = sqlite3.connect(db, timeout=30)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    return [str(p) for p in data.rglob("*") if p.is_file() and needle in p.read_bytes()]


def tables_holding(needle: bytes) -> list[str]:
    """Every PostgreSQL table with a row holding `needle` (text and bytea columns alike)."""
    found = []
    with psycopg.connect(PG_URL) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                if any(needle in (bytes(v) if isinstance(v, bytes | memoryview)
                                  else str(v).encode()) for v in row):
                    found.append(table)
                    break
    return found


def holding(url: str, data: Path, needle: bytes) -> list[str]:
    return tables_holding(needle) if url.startswith("postgres") else files_holding(data, needle)


def key_of(url: str, data: Path, user: str) -> bytes | None:
    if url.startswith("postgres"):
        with psycopg.connect(PG_URL) as conn:
            row = conn.execute("SELECT key FROM data_keys WHERE user_id = %s", (user,)).fetchone()
    else:
        conn = sqlite3.connect(data / "eschat-keys.db")
        row = conn.execute("SELECT key FROM data_keys WHERE user_id = ?", (user,)).fetchone()
        conn.close()
    return bytes(row[0]) if row and row[0] is not None else None


def rest_answers(server: ServerProcess, token: str, chat_id: str, edited_id: str,
                 root_id: str) -> str:
    """Every REST answer bob can get about the chat, as one text."""
    answers = []
    for path in (f"/api/chats/{chat_id}/messages?limit=200", "/api/chats",
                 f"/api/chats/{chat_id}", f"/api/chats/{chat_id}/messages/{edited_id}/edits",
                 f"/api/chats/{chat_id}/pins", "/api/events?limit=1000",
                 f"/api/chats/{chat_id}/messages?threadId={root_id}"):
        response = httpx.get(server.url + path, headers=auth(token), timeout=10)
        assert response.status_code == 200, (path, response.text)
        answers.append(response.text)
    return "\n".join(answers)


def reset_relay(url: str, data: Path) -> None:
    """As if the relay lost its position: it sends every stored event again."""
    sql = "UPDATE kafka_relay_tracking SET position = 0"
    if url.startswith("postgres"):
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(sql)
    else:
        conn = sqlite3.connect(data / "eschat-readmodels.db", isolation_level=None)
        conn.execute(sql)
        conn.close()


async def test_an_erased_user_is_found_nowhere_and_everyone_else_stays(
    # The broker first: fixtures stop in reverse order, so the servers stop while it
    # still answers (a relay stopping without a broker waits out its grace, 15 s).
    kafka_broker: TansuBroker,
    backend: tuple[str, Path],
    server_factory: Callable[..., ServerProcess],
    js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    url, data = backend
    marker = f"MARKER-{uuid.uuid4().hex}"
    await create_topic(kafka_broker.bootstrap, TOPIC, partitions=1)
    kafka = {"kafka_bootstrap": kafka_broker.bootstrap, "kafka_topic": TOPIC}
    server = server_factory(url, data_dir=data, **kafka)
    alice_token, bob_token, carol_token = (server.token(u) for u in ("alice", "bob", "carol"))
    chat_id = create_chat(server.url, alice_token, "bob", "carol")

    # bob takes recovery offsets, sees the chat start, and drops off the network
    bob = await js_clients(server.url)
    await bob.connect(auth={"token": "Bearer " + bob_token}, transports=["websocket"])
    hello = await bob.call("send-message", {"chatId": chat_id, "content": "bob is here"})
    await bob.event("new-message", lambda a: a[0]["id"] == hello["messageId"])
    await bob.command("drop")
    await bob.wait(lambda i: i["type"] == "disconnect")

    # alice writes with the marker and edits one; bob and carol reply, quoting by reference
    alice = await js_clients(server.url)
    await alice.connect(auth={"token": "Bearer " + alice_token}, transports=["websocket"])
    first = await alice.call("send-message", {"chatId": chat_id,
                                              "content": f"first {marker}"})
    second = await alice.call("send-message", {"chatId": chat_id,
                                               "content": f"second {marker}"})
    assert first["success"] and second["success"]
    edited = await alice.call("edit-message", {"chatId": chat_id,
                                               "messageId": second["messageId"],
                                               "content": f"edited {marker}"})
    assert edited["success"], edited
    thread = await alice.call("send-message", {"chatId": chat_id, "content": f"t {marker}",
                                               "threadId": first["messageId"]})
    assert thread["success"], thread
    replies = []
    for token, text, target in ((bob_token, "bob replies", first), (carol_token, "carol too",
                                                                     second)):
        response = httpx.post(f"{server.url}/api/chats/{chat_id}/messages", headers=auth(token),
                              json={"content": text, "replyTo": target["messageId"]})
        assert response.status_code == 201, response.text
        replies.append(response.json())
    # carol also writes a marker of her own: an operator erases her with the CLI
    carol_marker = f"CAROL-{uuid.uuid4().hex}"
    response = httpx.post(f"{server.url}/api/chats/{chat_id}/messages", headers=auth(carol_token),
                          json={"content": carol_marker})
    assert response.status_code == 201

    # before: the marker is readable in the store (read models) and in REST; alice has a key
    assert holding(url, data, marker.encode())
    assert marker in rest_answers(server, bob_token, chat_id, second["messageId"],
                                 first["messageId"])
    alice_key = key_of(url, data, "alice")
    assert alice_key is not None and len(alice_key) == 32
    relayed_before = await read_topic(kafka_broker.bootstrap, TOPIC,
                                      until=lambda rs: any(marker in str(r.value) for r in rs))
    assert any(marker in str(r.value) for r in relayed_before)

    # she erases herself
    response = httpx.delete(f"{server.url}/api/me", headers=auth(alice_token))
    assert response.status_code == 204, response.text
    server.eschat("users", "erase", "carol")

    # her token is refused, on REST and on Socket.IO; carol's within the key cache's 5 s
    assert httpx.get(f"{server.url}/api/me", headers=auth(alice_token)).status_code == 401
    refused = await (await js_clients(server.url)).connect(
        auth={"token": "Bearer " + alice_token}, transports=["websocket"])
    assert refused["type"] == "connect_error"
    # her socket from before the erasure is refused too, and closed
    late = await alice.call("send-message", {"chatId": chat_id, "content": f"late {marker}"})
    assert late["success"] is False and late["code"] == "unauthorized", late
    await alice.wait(lambda i: i["type"] == "disconnect")
    for _ in range(100):
        if httpx.get(f"{server.url}/api/me", headers=auth(carol_token)).status_code == 401:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("carol's token still works")
    login = httpx.post(f"{server.url}/api/auth/login",
                       json={"username": "alice", "password": "whatever-it-was"})
    assert login.status_code == 401

    # REST: her messages keep their place as erased; bob's and carol's replies stay
    messages = history(server.url, bob_token, chat_id)
    by_id = {m["id"]: m for m in messages}
    for sent in (first, second):
        assert by_id[sent["messageId"]]["content"] is None
        assert by_id[sent["messageId"]]["erased"] is True
        assert by_id[sent["messageId"]]["senderId"] == "alice"
    bob_reply = by_id[replies[0]["id"]]
    assert bob_reply["content"] == "bob replies" and bob_reply["erased"] is False
    assert bob_reply["replyTo"] == first["messageId"]
    assert by_id[hello["messageId"]]["content"] == "bob is here"
    assert by_id[replies[1]["id"]]["content"] is None  # carol is erased too
    answers = rest_answers(server, bob_token, chat_id, second["messageId"],
                                 first["messageId"])
    assert marker not in answers and carol_marker not in answers
    chat = httpx.get(f"{server.url}/api/chats/{chat_id}", headers=auth(bob_token)).json()
    assert chat["memberIds"] == ["alice", "bob", "carol"]
    # the store right after the erasure (and again after a rebuild, below)
    assert holding(url, data, marker.encode()) == []
    assert holding(url, data, alice_key) == []

    # recovery: bob reconnects and gets what he missed, erased
    await bob.command("reconnect")
    back = await bob.wait(lambda i: i["type"] == "connect" and i.get("recovered") is True,
                          timeout=20)
    assert back["recovered"] is True
    await bob.event("new-message", lambda a: a[0]["id"] == replies[1]["id"])
    replayed = {a[0]["id"]: a[0] for a in bob.events("new-message")}
    assert replayed[first["messageId"]]["content"] is None
    assert replayed[first["messageId"]]["erased"] is True
    assert replayed[replies[0]["id"]]["content"] == "bob replies"
    assert marker not in str(bob.events("new-message") + bob.events("message-edited"))

    # Kafka: a User.Erased record for each; what the relay sends after the erasure,
    # every stored event again included (its position reset), holds no erased text
    def erased_record(user: str) -> Callable[[list[Any]], bool]:
        return lambda rs: any(r.value["type"] == "User.Erased"
                              and r.value["data"] == {"userId": user} for r in rs)

    relayed = await read_topic(kafka_broker.bootstrap, TOPIC, until=erased_record("carol"))
    assert erased_record("alice")(relayed) and erased_record("carol")(relayed)
    server.stop()
    reset_relay(url, data)
    server = server_factory(url, data_dir=data, port=server.port, **kafka)
    again = await read_topic(kafka_broker.bootstrap, TOPIC,
                             until=lambda rs: sum(erased_record("carol")([r]) for r in rs) >= 2)
    after = again[len(relayed):]
    resent = [r for r in after if r.value["type"] == "Message.Sent"
              and r.value["data"]["senderId"] == "alice"]
    assert len(resent) == 3 and all(r.value["data"]["content"] is None for r in resent)
    assert not [r for r in after if marker in str(r.value) or carol_marker in str(r.value)]
    assert alice_key.hex() not in str([r.value for r in again])

    # a rebuild from the log gives the same erased messages
    before_rebuild = history(server.url, bob_token, chat_id)
    server.eschat("projections", "rebuild")
    assert history(server.url, bob_token, chat_id) == before_rebuild
    assert marker not in rest_answers(server, bob_token, chat_id, second["messageId"],
                                 first["messageId"])

    # the store: no file of the data folder (SQLite: WAL and free pages included), no
    # PostgreSQL table holds the marker, or alice's key
    assert holding(url, data, marker.encode()) == []
    assert holding(url, data, carol_marker.encode()) == []
    assert holding(url, data, alice_key) == []
    assert key_of(url, data, "alice") is None
    # keys never reach a log, in any spelling (the servers log into the data folder)
    logs = b"".join(p.read_bytes() for p in data.glob("*.log"))
    assert logs and marker.encode() not in logs
    for spelling in (alice_key, alice_key.hex().encode(), base64.b64encode(alice_key)):
        assert spelling not in logs
