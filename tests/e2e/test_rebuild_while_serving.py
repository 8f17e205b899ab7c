"""`eschat projections rebuild` on a store of 200k events while the API serves: a
REST client pages history and reads a chat list, a socket.io-client receives live
messages sent through another node (PostgreSQL: two nodes). No answer is empty or
partial, no live message is missed or doubled, and after the switch the read
models equal what replaying the log gives."""

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from eventsourcing.persistence import StoredEvent

from domain.chat import Chat
from domain.message import Message
from tests.conftest import ServerProcess
from tests.e2e.clients import JsClient, PyClient
from tests.integration.core.conftest import make_container
from tests.integration.core.readmodel_dump import dump_read_models

SEEDED = 200_000
CHATS = 20  # alice, bob and carol's; 10,000 messages each
PAGE = 200


def bulk_insert(store: Any, events: list[StoredEvent]) -> None:
    """Appends stored events in one statement (COPY on PostgreSQL): the recorder's
    insert_events takes minutes for 200k."""
    recorder = store.recorder
    table = recorder.events_table_name
    datastore = recorder.datastore
    columns = "originator_id, originator_version, topic, state"
    if hasattr(datastore, "schema"):  # PostgreSQL
        with datastore.get_connection() as conn, conn.cursor() as cur, cur.copy(
                f'COPY "{datastore.schema}"."{table}" ({columns}) FROM STDIN') as copy:
            for e in events:
                copy.write_row((e.originator_id, e.originator_version, e.topic, e.state))
        return
    with datastore.transaction(commit=True) as c:
        c.executemany(f"INSERT INTO {table} ({columns}) VALUES (?, ?, ?, ?)",
                      [(e.originator_id.hex, e.originator_version, e.topic, e.state)
                       for e in events])


def seed(database_url: str, data_dir: Path) -> list[str]:
    """Writes the chats through the domain, then their messages as copies of one
    stored Sent event per chat with fresh ids, in big inserts (seconds, not minutes)."""
    container = make_container(database_url, data_dir)
    try:
        store = container.store
        chats = [Chat.start(f"seeded {i}", ["bob", "carol"], "alice") for i in range(CHATS)]
        store.save(*chats)
        templates = []
        for chat in chats:
            message = Message(chat_id=chat.id, sender_id="alice", content="seeded",
                              client_message_id=None)
            templates.append(store.mapper.to_stored_event(message.collect_events()[0]))
        copies = [StoredEvent(originator_id=uuid4(), originator_version=t.originator_version,
                              topic=t.topic, state=t.state)
                  for i in range(SEEDED - CHATS) for t in (templates[i % CHATS],)]
        bulk_insert(store, copies)
        return [str(c.id) for c in chats]
    finally:
        container.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def all_pages(http: httpx.AsyncClient, url: str, token: str, chat_id: str) -> list[str]:
    """Every message id of the chat, newest page first, each page checked full."""
    ids: list[str] = []
    before: int | None = None
    while True:
        params: dict[str, Any] = {"limit": PAGE} if before is None else {"limit": PAGE,
                                                                         "before": before}
        r = await http.get(f"{url}/api/chats/{chat_id}/messages", params=params,
                           headers=auth(token))
        assert r.status_code == 200, r.text
        page = r.json()
        messages = page["messages"]
        assert messages, f"empty page before {before}"
        seqs = [m["seq"] for m in messages]
        assert seqs == sorted(seqs)
        ids[:0] = [m["id"] for m in messages]
        if page["nextBefore"] is None:
            return ids
        assert len(messages) == PAGE, f"partial page before {before}: {len(messages)}"
        before = page["nextBefore"]


def chat_list(r: httpx.Response) -> list[tuple[str, int, str | None]]:
    assert r.status_code == 200, r.text
    return [(c["id"], c["unreadCount"], (c["lastMessage"] or {}).get("id")) for c in r.json()]


async def rebuild(server: ServerProcess) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "interfaces.cli", "projections", "rebuild", env=server.env,
        cwd=server.env["ESCHAT_DATA_DIR"], stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_rebuild_while_serving_loses_and_doubles_nothing(
    backend: str, tmp_path: Path, server_factory: Callable[..., ServerProcess],
    js_clients: Callable[[str], Awaitable[JsClient]], py_clients: Callable[[], PyClient],
    request: pytest.FixtureRequest,
) -> None:
    url = (request.getfixturevalue("postgres_url") if backend == "postgres"
           else f"sqlite:///{tmp_path}/eschat.db")
    seeded_chats = seed(url, tmp_path / "node0")
    first = server_factory(url, data_dir=tmp_path / "node0", node_id="node-0")
    # The read models of the seeded store come from a first rebuild (the server's
    # runner would project them too, more slowly).
    await rebuild(first)
    nodes = [first] + ([server_factory(url, node_id="node-1")] if backend == "postgres" else [])
    sender_node, reader_node = nodes[0], nodes[-1]
    tokens = {u: first.token(u) for u in ("alice", "bob", "carol")}

    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{sender_node.url}/api/chats", headers=auth(tokens["alice"]),
                            json={"title": "live", "memberIds": ["bob"]})
        assert r.status_code == 201, r.text
        live_chat = r.json()["id"]
        baseline_pages = await all_pages(http, reader_node.url, tokens["carol"], seeded_chats[0])
        assert len(baseline_pages) == (SEEDED - CHATS) // CHATS
        baseline_list = chat_list(await http.get(f"{reader_node.url}/api/chats",
                                                 headers=auth(tokens["carol"])))
        assert len(baseline_list) == CHATS

        bob = await js_clients(reader_node.url)
        assert (await bob.connect(auth={"token": tokens["bob"]}))["type"] == "connect"
        alice = py_clients()
        await alice.connect(sender_node.url, tokens["alice"])

        rebuilding = asyncio.Event()
        done = asyncio.Event()
        sent: list[str] = []
        reads = {"pages": 0, "lists": 0, "status": ""}

        async def send() -> None:
            i = 0
            while not done.is_set():
                message = {"chatId": live_chat, "content": f"live {i}",
                           "clientMessageId": f"live-{i}"}
                ack = await alice.call("send-message", message)
                while ack.get("code") == "unavailable" and "retryAfterMs" in ack:
                    # Overload (the rebuild competes for the store): wait as asked and
                    # send again; the clientMessageId keeps it to one message.
                    await asyncio.sleep(ack["retryAfterMs"] / 1000)
                    ack = await alice.call("send-message", message)
                assert ack["success"], ack
                sent.append(ack["messageId"])
                i += 1
                await asyncio.sleep(0.06)  # under the 20/s rate limit

        async def read() -> None:
            while not done.is_set():
                pages = await all_pages(http, reader_node.url, tokens["carol"], seeded_chats[0])
                assert pages == baseline_pages
                reads["pages"] += rebuilding.is_set()
                listed = chat_list(await http.get(f"{sender_node.url}/api/chats",
                                                  headers=auth(tokens["carol"])))
                assert listed == baseline_list
                reads["lists"] += rebuilding.is_set()

        def status() -> str:
            return sender_node.eschat("projections", "status")

        async def run_rebuild() -> str:
            rebuilding.set()
            task = asyncio.create_task(rebuild(sender_node))
            # `projections status` while it runs, asked until one answers "under way". Each
            # CLI takes a start-up before it reads, which a loaded machine stretches to
            # seconds: one at a time, the reads could all fall before the rebuild begins
            # and after it switches. So a new one starts every 0.5 s, three at most.
            asking: set[asyncio.Task[str]] = set()
            while asking or not (task.done() or "under way" in reads["status"]):
                if not (task.done() or "under way" in reads["status"]) and len(asking) < 3:
                    asking.add(asyncio.create_task(asyncio.to_thread(status)))
                answered, asking = await asyncio.wait(asking, timeout=0.5)
                for answer in answered:
                    if "under way" not in reads["status"]:
                        reads["status"] = answer.result()
            output = await task
            rebuilding.clear()
            # Live traffic goes on past the switch, long enough to count: a quick rebuild
            # may have refused most sends for overload while it ran (retryAfterMs).
            deadline = time.monotonic() + 30
            while len(sent) <= 20 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            done.set()
            return output

        started = time.monotonic()
        output, _, _ = await asyncio.gather(run_rebuild(), send(), read())
        took = time.monotonic() - started

    assert "switched to the new read models at position" in output
    assert "rebuild under way of history, chats, presence, roster" in reads["status"], reads
    assert reads["pages"] > 0 and reads["lists"] > 0, (reads, took)
    assert len(sent) > 20
    await bob.wait(lambda i: i.get("type") == "event" and i["event"] == "new-message"
                   and i["args"][0]["id"] == sent[-1], timeout=15)
    received = [args[0]["id"] for args in bob.events("new-message")]
    assert received == sent  # each once, in order, across the switch

    # After the switch: the read models equal a replay of the log.
    for node in nodes:
        node.stop()
    container = make_container(url, tmp_path / "node0")
    try:
        container.runner.catch_up()
        switched = dump_read_models(container)
    finally:
        container.close()
    await rebuild(first)
    container = make_container(url, tmp_path / "node0")
    try:
        replayed = dump_read_models(container)
    finally:
        container.close()
    assert len(switched["rm_messages"]) == SEEDED - CHATS + len(sent)
    for table in replayed:
        assert switched[table] == replayed[table], f"{table} differs from a replay"
