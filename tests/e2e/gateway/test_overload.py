"""Overload slows intake, never delivery (CONTRACT: "Guarantees"): while this node's
delivery is behind its budget, sends are refused with `unavailable` and
`retryAfterMs`, and every send that was acked reaches the other member. A budget
of 1 ms makes an ordinary burst an overload. Stock python-socketio clients."""

import asyncio
from collections.abc import Callable
from typing import Any

from tests.conftest import ServerProcess
from tests.e2e.clients import PyClient
from tests.e2e.conftest import create_chat, history


async def test_a_burst_over_the_delivery_budget_is_refused_and_every_ack_is_delivered(
    server_factory: Callable[..., ServerProcess], database_url: str,
    py_clients: Callable[[], PyClient],
) -> None:
    server = server_factory(database_url, delivery_budget_ms="1")
    senders = ("alice", "bob", "carol")
    tokens = {u: server.token(u) for u in (*senders, "dave")}
    chat = create_chat(server.url, tokens["alice"], "bob", "carol", "dave")
    clients = {u: py_clients() for u in tokens}
    for user, client in clients.items():
        await client.connect(server.url, tokens[user], transports=["websocket"])

    acks: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []

    async def stream(user: str, client: PyClient) -> None:
        # One send in flight at a time, as a chat client does: each one arrives
        # while earlier commits are still on their way to the sockets.
        for i in range(40):  # the per-connection burst: no rate_limited
            answer = await client.call("send-message", {"chatId": chat, "content": f"{user} {i}"})
            (acks if answer["success"] else refusals).append(answer)
            if not answer["success"] and answer.get("code") == "unavailable":
                await asyncio.sleep(answer["retryAfterMs"] / 1000)  # as asked

    for _ in range(5):  # until the load has outrun delivery at least once
        await asyncio.gather(*(stream(u, clients[u]) for u in senders))
        if refusals:
            break
        await asyncio.sleep(2.1)  # the rate limit refills

    assert refusals, "no burst outran a 1 ms delivery budget"
    assert acks, "a client that waits as asked gets its sends in"
    for refusal in refusals:
        assert refusal["code"] == "unavailable", refusal
        assert isinstance(refusal["retryAfterMs"], int) and 100 <= refusal["retryAfterMs"] <= 5000
        assert "overloaded" in refusal["error"]
    # Every acked message reaches dave, once; a refused one stored nothing.
    acked = {a["messageId"] for a in acks}
    for message_id in acked:
        await clients["dave"].event("new-message", lambda args, m=message_id: args[0]["id"] == m)
    received = [args[0]["id"] for args in clients["dave"].events("new-message")]
    assert sorted(received) == sorted(acked)
    stored: set[str] = set()
    page = history(server.url, tokens["dave"], chat)
    while page:
        stored |= {str(m["id"]) for m in page}
        page = history(server.url, tokens["dave"], chat, before=int(str(page[0]["seq"])))
    assert stored == acked

