"""Three `eschat serve` processes on loopback ports sharing one PostgreSQL store form
one cluster: stored events, typing and presence cross nodes; a node killed with -9
stops counting within three heartbeats, and its clients recover elsewhere."""

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.e2e.clients import JsClient, PyClient
from tests.e2e.cluster.balancer import Balancer
from tests.e2e.conftest import create_chat

# Heartbeat (= lease renewal) every 0.4 s, so a dead node lapses after 1.2 s.
FAST_HEARTBEAT = {"ping_interval_ms": "400", "ping_timeout_ms": "400"}


@dataclass
class Cluster:
    nodes: list[ServerProcess]
    tokens: dict[str, str]
    chat_id: str

    def presence(self, node: int, *users: str) -> list[bool]:
        response = httpx.get(f"{self.nodes[node].url}/api/presence",
                             params={"userIds": ",".join(users)},
                             headers={"Authorization": f"Bearer {self.tokens['alice']}"})
        assert response.status_code == 200, response.text
        return [p["online"] for p in response.json()]


@pytest.fixture
async def cluster(server_factory: Callable[..., ServerProcess], postgres_url: str) -> Cluster:
    nodes = [server_factory(postgres_url, node_id=f"node-{i}", **FAST_HEARTBEAT)
             for i in (1, 2, 3)]
    tokens = {user: nodes[0].token(user) for user in ("alice", "bob", "carol")}
    chat_id = create_chat(nodes[0].url, tokens["alice"], "bob", "carol")
    return Cluster(nodes, tokens, chat_id)


@pytest.fixture
async def balancer() -> AsyncIterator[Callable[[list[int]], Awaitable[Balancer]]]:
    made: list[Balancer] = []

    async def make(upstreams: list[int]) -> Balancer:
        made.append(await Balancer(upstreams).start())
        return made[-1]

    yield make
    for b in made:
        await b.stop()


async def test_a_message_stored_through_one_node_reaches_every_node_once(
    cluster: Cluster, py_clients: Callable[[], PyClient],
    js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    node1, node2, node3 = cluster.nodes
    alice, bob_on_2, carol_on_3 = py_clients(), py_clients(), py_clients()
    await alice.connect(node1.url, cluster.tokens["alice"], transports=["websocket"])
    await bob_on_2.connect(node2.url, cluster.tokens["bob"], transports=["websocket"])
    await carol_on_3.connect(node3.url, cluster.tokens["carol"], transports=["websocket"])
    bob_on_3 = await js_clients(node3.url)  # bob's second device, default transports
    await bob_on_3.connect(auth={"token": cluster.tokens["bob"]})

    acks = [await alice.call("send-message", {"chatId": cluster.chat_id, "content": f"m{i}"})
            for i in range(10)]
    receivers: list[PyClient | JsClient] = [bob_on_2, carol_on_3, bob_on_3]
    for receiver in receivers:
        await receiver.event("new-message", lambda a: a[0]["id"] == acks[-1]["messageId"])
    await asyncio.sleep(0.3)  # room for a duplicate to show up
    for receiver in receivers:
        seen = [(args[0]["id"], args[0]["seq"]) for args in receiver.events("new-message")]
        assert seen == [(ack["messageId"], ack["seq"]) for ack in acks]  # once, in order


async def test_senders_on_two_nodes_at_once_reach_every_socket_once_in_store_order(
    cluster: Cluster, py_clients: Callable[[], PyClient],
    js_clients: Callable[[str], Awaitable[JsClient]],
) -> None:
    # Each node delivers its own commits from the commit and the other's from the feed:
    # with both writing into one chat, the positions interleave, and every socket must
    # still get each message once, in store order, with its position as offset.
    node1, node2, _ = cluster.nodes
    alice, bob = py_clients(), py_clients()
    await alice.connect(node1.url, cluster.tokens["alice"], transports=["websocket"])
    await bob.connect(node2.url, cluster.tokens["bob"], transports=["websocket"])
    carol_on_1, carol_on_2 = await js_clients(node1.url), await js_clients(node2.url)
    for carol in (carol_on_1, carol_on_2):
        await carol.connect(auth={"token": cluster.tokens["carol"]})

    async def send(client: PyClient, who: str) -> list[int]:
        return [(await client.call("send-message", {"chatId": cluster.chat_id,
                                                    "content": f"{who} {i}"}))["seq"]
                for i in range(25)]

    seqs = sorted(sum(await asyncio.gather(send(alice, "a"), send(bob, "b")), []))
    for carol in (carol_on_1, carol_on_2):
        await carol.event("new-message", lambda a: a[0]["seq"] == seqs[-1])
    await asyncio.sleep(0.3)  # room for a duplicate to show up
    for carol in (carol_on_1, carol_on_2):
        got = carol.events("new-message")
        assert [a[0]["seq"] for a in got] == seqs  # each once, in store order
        assert [int(a[1]) for a in got] == seqs  # the recovery offset is the position


async def test_typing_crosses_nodes(cluster: Cluster,
                                    py_clients: Callable[[], PyClient]) -> None:
    clients = {user: py_clients() for user in ("alice", "bob", "carol")}
    for node, (user, client) in zip(cluster.nodes, clients.items(), strict=True):
        await client.connect(node.url, cluster.tokens[user], transports=["websocket"])
    await clients["bob"].call("typing-start", {"chatId": cluster.chat_id})
    expected = [{"userId": "bob", "chatId": cluster.chat_id}]
    for user in ("alice", "carol"):
        assert await clients[user].event("user-typing") == expected
    await clients["bob"].call("typing-stop", {"chatId": cluster.chat_id})
    for user in ("alice", "carol"):
        assert await clients[user].event("user-stopped-typing") == expected
    assert clients["bob"].events("user-typing") == []  # not echoed to the typist


async def test_a_user_is_online_while_any_node_holds_a_connection(
    cluster: Cluster, py_clients: Callable[[], PyClient],
) -> None:
    node1, node2, node3 = cluster.nodes
    carol = py_clients()
    await carol.connect(node3.url, cluster.tokens["carol"], transports=["websocket"])
    alice_on_1, alice_on_2 = py_clients(), py_clients()
    await alice_on_1.connect(node1.url, cluster.tokens["alice"], transports=["websocket"])
    await alice_on_2.connect(node2.url, cluster.tokens["alice"], transports=["websocket"])
    assert await carol.event("user-online") == [{"userId": "alice"}]

    await alice_on_1.close()
    await asyncio.sleep(1.5)  # more than a lease: nothing lapses while node 2 holds her
    assert cluster.presence(2, "alice") == [True]
    assert carol.events("user-offline") == []
    assert len(carol.events("user-online")) == 1

    await alice_on_2.close()
    [offline] = await carol.event("user-offline")
    assert offline["userId"] == "alice" and offline["lastSeen"]
    assert [cluster.presence(i, "alice") for i in range(3)] == [[False]] * 3


async def test_a_killed_node_stops_counting_and_its_clients_recover_elsewhere(
    cluster: Cluster, py_clients: Callable[[], PyClient],
    js_clients: Callable[[str], Awaitable[JsClient]],
    balancer: Callable[[list[int]], Awaitable[Balancer]],
) -> None:
    node1, node2, node3 = cluster.nodes
    alice, carol = py_clients(), py_clients()
    await alice.connect(node1.url, cluster.tokens["alice"], transports=["websocket"])
    await carol.connect(node3.url, cluster.tokens["carol"], transports=["websocket"])
    front = await balancer([node2.port, node3.port])  # bob reaches node 2 while it lives
    bob = await js_clients(front.url)
    await bob.connect(auth={"token": cluster.tokens["bob"]}, transports=["websocket"])
    before = await alice.call("send-message", {"chatId": cluster.chat_id, "content": "before"})
    await bob.event("new-message", lambda a: a[0]["id"] == before["messageId"])
    await alice.event("user-online", lambda a: a[0] == {"userId": "bob"})

    front.closed = True  # bob stays away until the missed messages are stored
    node2.stop(signal.SIGKILL)  # no goodbye: only its lapsed lease tells
    await bob.wait(lambda i: i["type"] == "disconnect")
    for observer in (alice, carol):
        [offline] = await observer.event("user-offline", timeout=15)
        assert offline["userId"] == "bob"
    assert cluster.presence(0, "bob") == [False]
    missed = [await alice.call("send-message", {"chatId": cluster.chat_id, "content": f"away {i}"})
              for i in range(3)]

    front.closed = False  # node 2 refuses now: bob's client lands on node 3
    reconnect = await bob.wait(lambda i: i["type"] == "connect" and i.get("recovered") is True,
                               timeout=20)
    assert reconnect["recovered"] is True
    for ack in missed:
        await bob.event("new-message", lambda a, m=ack["messageId"]: a[0]["id"] == m)
    after = await alice.call("send-message", {"chatId": cluster.chat_id, "content": "after"})
    await bob.event("new-message", lambda a: a[0]["id"] == after["messageId"])
    ids = [args[0]["id"] for args in bob.events("new-message")]
    assert ids == [before["messageId"], *(m["messageId"] for m in missed), after["messageId"]]
    assert cluster.presence(2, "bob") == [True]  # counted again, on node 3


async def test_projections_move_to_a_surviving_node_when_their_node_dies(
    cluster: Cluster, py_clients: Callable[[], PyClient],
) -> None:
    leaders = [n for n in cluster.nodes if "applies the projections for the cluster" in n.log()]
    assert len(leaders) == 1  # once per cluster, not once per node
    [leader] = leaders
    survivors = [n for n in cluster.nodes if n is not leader]
    alice, bob = py_clients(), py_clients()
    await alice.connect(survivors[0].url, cluster.tokens["alice"], transports=["websocket"])
    await bob.connect(survivors[1].url, cluster.tokens["bob"], transports=["websocket"])

    leader.stop(signal.SIGKILL)
    ack = await alice.call("send-message", {"chatId": cluster.chat_id, "content": "still here"})
    [message] = await bob.event("new-message", timeout=15)  # projected by a survivor
    assert message["id"] == ack["messageId"]
    response = httpx.get(f"{survivors[1].url}/api/chats/{cluster.chat_id}/messages",
                         headers={"Authorization": f"Bearer {cluster.tokens['bob']}"})
    assert [m["id"] for m in response.json()["messages"]] == [ack["messageId"]]
    took_over = [n for n in survivors if "applies the projections for the cluster" in n.log()]
    assert len(took_over) == 1
