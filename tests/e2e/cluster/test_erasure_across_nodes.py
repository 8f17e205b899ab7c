"""An erasure through one node holds on the other within the key cache's 5 s: her token
is refused there, her text is gone there, and what she sent there before reads erased."""

import time
from collections.abc import Callable

import httpx

from tests.conftest import ServerProcess
from tests.e2e.conftest import create_chat, history


def test_an_erasure_through_one_node_holds_on_the_other(
    server_factory: Callable[..., ServerProcess], postgres_url: str
) -> None:
    one, two = (server_factory(postgres_url, node_id=f"node-{i}") for i in (1, 2))
    alice, bob = one.token("alice"), one.token("bob")
    chat_id = create_chat(one.url, alice, "bob")
    for node, text in ((one, "through one"), (two, "through two")):
        response = httpx.post(f"{node.url}/api/chats/{chat_id}/messages", json={"content": text},
                              headers={"Authorization": f"Bearer {alice}"})
        assert response.status_code == 201, response.text
    # node two has alice's key cached: it just sealed and opened her message
    assert [m["content"] for m in history(two.url, bob, chat_id)] == ["through one",
                                                                      "through two"]

    erased = httpx.delete(f"{one.url}/api/me", headers={"Authorization": f"Bearer {alice}"})
    assert erased.status_code == 204
    assert httpx.get(f"{one.url}/api/me",
                     headers={"Authorization": f"Bearer {alice}"}).status_code == 401
    deadline = time.monotonic() + 10  # the cache holds a key for 5 s at most
    while httpx.get(f"{two.url}/api/me",
                    headers={"Authorization": f"Bearer {alice}"}).status_code != 401:
        assert time.monotonic() < deadline, "node two still takes alice's token"
        time.sleep(0.1)
    assert [(m["content"], m["erased"]) for m in history(two.url, bob, chat_id)] == [
        (None, True), (None, True)]
