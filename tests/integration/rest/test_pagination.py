"""History pagination over a chat of 10,000 messages: front to back (`after`)
and back to front (`before` / `nextBefore`), no gap, no duplicate.

The messages are seeded fast through ChatService in this process, against the
same store as the running server (the group-commit writer batches the
concurrent sends); the server's projection runner picks them up from the
store's notification log."""

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from infrastructure.settings import load_settings
from interfaces.server import bootstrap
from tests.conftest import ServerProcess
from tests.integration.rest.helpers import Api, new_chat

COUNT = 10_000
PAGE = 200


def seed(database_url: str, data_dir: Path, sender: str, chat_id: str, count: int = COUNT) -> int:
    settings = load_settings({}, database_url=database_url, data_dir=str(data_dir),
                             jwt_secret="seed-" + "x" * 32, node_id="seeder")
    container = bootstrap(settings)
    container.writer.start()

    async def send_all() -> int:
        results = await asyncio.gather(*(
            container.service.send_message(sender, chat_id, f"m{i}", f"c{i}", wait=False)
            for i in range(count)))
        return max(r.message.seq for r in results)

    try:
        return asyncio.run(send_all())
    finally:
        container.close()


def wait_until_projected(http: httpx.Client, position: int) -> None:
    """Waits (bounded) for the server's projections to reach `position`."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready = http.get("/ready").json()
        if min(ready["projections"].values()) >= position:
            return
        time.sleep(0.2)
    raise AssertionError(f"projections did not reach {position}: {ready}")


def test_history_walks_10000_messages_both_ways_without_gap_or_duplicate(
    server: ServerProcess, database_url: str, tmp_path: Path,
) -> None:
    api = Api(server.url)
    try:
        alice = api.user("alice")
        chat = new_chat(alice)
        last = seed(database_url, tmp_path / "seeder", alice.id, chat["id"])
        wait_until_projected(api.http, last)
        url = f"/api/chats/{chat['id']}/messages"

        def get(**params: Any) -> dict[str, Any]:
            response = alice.http.get(url, params={"limit": PAGE, **params})
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            seqs = [m["seq"] for m in body["messages"]]
            assert seqs == sorted(seqs) and len(seqs) <= PAGE  # each page oldest first
            return body

        forward: list[dict[str, Any]] = []
        after = 0
        while page := get(after=after)["messages"]:
            forward.extend(page)
            after = page[-1]["seq"]

        backward: list[dict[str, Any]] = []
        body = get()
        pages = 1
        while True:
            backward[:0] = body["messages"]
            if body["nextBefore"] is None:
                break
            assert body["nextBefore"] == body["messages"][0]["seq"]
            body = get(before=body["nextBefore"])
            pages += 1

        assert pages == COUNT // PAGE
        for walk in (forward, backward):
            seqs = [m["seq"] for m in walk]
            assert len(seqs) == COUNT
            assert len(set(seqs)) == COUNT  # no duplicate
            assert seqs == sorted(seqs)
            assert seqs[-1] == last
            assert {m["content"] for m in walk} == {f"m{i}" for i in range(COUNT)}  # no gap
        assert [m["id"] for m in forward] == [m["id"] for m in backward]
    finally:
        api.close()
