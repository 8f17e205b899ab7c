"""Messages over time (issue 16) on a store written by release 37b8bd6: its messages
(Message.Sent v1, upcast to v2; receipts stored as events of the message) are served
with the new fields at their fresh values, and can be edited, reacted to, pinned,
quoted, threaded and deleted; their receipts still count; a rebuild from the old and
new events gives the same answers. SQLite and PostgreSQL."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import ServerProcess
from tests.integration.upgrade.test_release_store import FIXTURE, Client, restore

FRESH = {"editedAt": None, "deleted": False, "replyTo": None, "threadId": None,
         "threadReplyCount": 0, "threadLastReplyAt": None, "reactions": {}, "mentions": [],
         "pinned": False}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_old_messages_change_over_time_after_upgrade(
    backend: str, tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    expected = json.loads((FIXTURE / f"facts-{backend}.json").read_text())
    team = expected["chats"]["team"]
    old = expected["messages"][team]
    server = server_factory(restore(backend, tmp_path), ESCHAT_NODE_ID="upgraded-node")
    api = Client(server.url)
    base = f"/api/chats/{team}/messages"

    page = api.call("alice", "GET", f"{base}?limit=200")["messages"]
    assert [m["id"] for m in page] == [m["id"] for m in old]
    for m in page:
        assert {k: m[k] for k in FRESH} == FRESH, m

    # alice's first message: its receipts are events of its own stream in that release.
    first = old[0]
    assert first["senderId"] == "alice" and first["readBy"]
    edited = api.call("alice", "PATCH", f"{base}/{first['id']}", {"content": "edited @bob"})
    assert (edited["content"], edited["mentions"], edited["seq"], edited["createdAt"]) == (
        "edited @bob", ["bob"], first["seq"], first["createdAt"])
    assert (edited["deliveredTo"], edited["readBy"]) == (first["deliveredTo"], first["readBy"])
    api.call("carol", "PUT", f"{base}/{first['id']}/reactions/{quote('👍')}")
    api.call("alice", "POST", f"/api/chats/{team}/pins/{old[1]['id']}")
    reply = api.call("bob", "POST", base, {"content": "quoting", "replyTo": old[2]["id"]})
    assert reply["replyTo"] == old[2]["id"]
    threaded = api.call("carol", "POST", base, {"content": "in thread", "threadId": old[1]["id"]})
    bobs = next(m for m in old if m["senderId"] == "bob")
    api.call("alice", "DELETE", f"{base}/{bobs['id']}")  # the creator owns the old group

    def over_time() -> dict[str, Any]:
        return {
            "main": api.call("bob", "GET", f"{base}?limit=200"),
            "thread": api.call("bob", "GET", f"{base}?limit=200&threadId={old[1]['id']}"),
            "pins": api.call("bob", "GET", f"/api/chats/{team}/pins"),
            "edits": [api.call("bob", "GET", f"{base}/{m}/edits")
                      for m in (first["id"], bobs["id"])],
            "chat": next(c for c in api.call("carol", "GET", "/api/chats") if c["id"] == team),
        }

    now = over_time()
    main = {m["id"]: m for m in now["main"]["messages"]}
    assert main[first["id"]]["reactions"] == {"👍": ["carol"]}
    assert main[first["id"]]["editedAt"] is not None
    assert (main[old[1]["id"]]["pinned"], main[old[1]["id"]]["threadReplyCount"]) == (True, 1)
    assert (main[bobs["id"]]["content"], main[bobs["id"]]["deleted"]) == (None, True)
    assert threaded["id"] not in main and reply["id"] in main
    assert [m["id"] for m in now["thread"]["messages"]] == [threaded["id"]]
    assert [m["id"] for m in now["pins"]] == [old[1]["id"]]
    assert now["edits"][0] == [
        {"content": first["content"], "editedAt": first["createdAt"], "seq": first["seq"]},
        {"content": "edited @bob", "editedAt": main[first["id"]]["editedAt"],
         "seq": now["edits"][0][1]["seq"]},
    ]
    assert now["edits"][1] == [{"content": None, "editedAt": bobs["createdAt"],
                                "seq": bobs["seq"]}]
    # Old messages that nobody changed are as the release served them.
    for m in old[3:]:
        if m["id"] != bobs["id"]:
            assert {k: main[m["id"]][k] for k in m} == m

    server.eschat("projections", "rebuild")
    assert over_time() == now
