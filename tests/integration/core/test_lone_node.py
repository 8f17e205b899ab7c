"""A node serving alone on PostgreSQL NOTIFYs nobody (infrastructure/peers.py): its
commits and projection cycles stay silent while no other node holds a lease, and they
NOTIFY again once its heartbeat sees another node's lease, or at once when a node that
just started NOTIFYs."""

import time

import psycopg
import pytest

from infrastructure.eventstore import postgres_channel
from infrastructure.presence_leases import SqlNodeLeases
from infrastructure.projection_runner import PROJECTED_CHANNEL
from interfaces.server import Container

LEASE_S = 75.0


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only (SQLite has no NOTIFY): the `container` fixture's store."""
    return postgres_url


class Listener:
    """Another process's view: a LISTEN on the store's and the projections' channels."""

    def __init__(self, url: str, store_channel: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(f'LISTEN "{store_channel}"')
        self.conn.execute(f'LISTEN "{PROJECTED_CHANNEL}"')

    def heard(self, seconds: float = 0.5) -> set[str]:
        """The channels NOTIFYed within `seconds`."""
        return {n.channel for n in self.conn.notifies(timeout=seconds)}


async def send_and_project(node: Container, chat_id: str, text: str) -> None:
    await node.service.send_message("alice", chat_id, text)
    await node.service.sync()  # the projection cycle of the send has run too


async def test_a_lone_node_notifies_nobody_until_another_node_shows_up(
        container: Container, postgres_url: str) -> None:
    node = container
    channel = postgres_channel(node.store)
    assert channel is not None
    listener = Listener(postgres_url, channel)
    for user in ("alice", "bob"):
        await node.service.ensure_user(user)
    chat_id = (await node.service.create_chat("alice", "t", ["bob"])).id

    # Until its first lease check, a node NOTIFYs as before.
    listener.heard(0.3)
    await send_and_project(node, chat_id, "before any heartbeat")
    assert listener.heard() == {channel, PROJECTED_CHANNEL}

    # Its heartbeat finds no other lease: its sends and cycles NOTIFY nobody.
    await node.service.node_heartbeat(LEASE_S)
    await send_and_project(node, chat_id, "alone")
    assert listener.heard() == set()
    messages, _ = await node.service.history("bob", chat_id)
    assert messages[-1].content == "alone"  # stored and projected all the same

    # Another node's lease: the next heartbeat sees it.
    SqlNodeLeases(node.db).renew("other-node", LEASE_S)
    await node.service.node_heartbeat(LEASE_S)
    await send_and_project(node, chat_id, "with a peer")
    assert listener.heard() == {channel, PROJECTED_CHANNEL}

    # The other node's lease is gone: alone again.
    SqlNodeLeases(node.db).drop("other-node")
    await node.service.node_heartbeat(LEASE_S)
    await send_and_project(node, chat_id, "alone again")
    assert listener.heard() == set()

    # The CLI (no lease) NOTIFYs: nothing changes.
    listener.conn.execute("SELECT pg_notify(%s, 'the-cli')", (channel,))
    listener.heard(0.2)  # its own NOTIFY
    await send_and_project(node, chat_id, "the CLI wrote")
    assert listener.heard() == set()

    # A node that starts writes its lease, then commits and NOTIFYs: this node knows of
    # it from that NOTIFY, before its own next heartbeat.
    time.sleep(1.1)  # past the recheck interval the CLI's NOTIFY started
    SqlNodeLeases(node.db).renew("new-node", LEASE_S)
    listener.conn.execute("SELECT pg_notify(%s, 'new-node')", (channel,))
    listener.heard(0.2)
    deadline = time.monotonic() + 5
    while node.store.recorder.peers.alone() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
    await send_and_project(node, chat_id, "a new node started")
    assert listener.heard() == {channel, PROJECTED_CHANNEL}
    listener.conn.close()
