"""Connections and nodes: the durable facts behind presence.

A node's lease is not an event: renewing it every heartbeat made the Node's stream
grow without end (100,000 events after a month). It is a row with an expiry
(application/ports.py: NodeLeases). The Node aggregate records only its starts and
stops; `Heartbeat` stays declared so that stores written before still load, and
Started/Restarted v1 carried a `lease_seconds` that v2 drops."""

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import node_aggregate_id


class Connection(Aggregate):
    """One Socket.IO connection of a user on a node."""

    class Opened(Aggregate.Created):
        class_version = 1
        user_id: str
        node_id: str

    class Closed(Aggregate.Event):
        class_version = 1

    @event(Opened)
    def __init__(self, user_id: str, node_id: str) -> None:
        self.user_id = user_id
        self.node_id = node_id
        self.open = True

    def close(self) -> None:
        if self.open:
            self._closed()

    @event(Closed)
    def _closed(self) -> None:
        self.open = False


def _drop_lease(state: dict[str, Any]) -> None:
    state.pop("lease_seconds", None)


class Node(Aggregate):
    """A serving process under a node id: started (again), stopped."""

    class Started(Aggregate.Created):
        class_version = 2
        node_id: str
        upcast_v1_v2 = staticmethod(_drop_lease)

    class Restarted(Aggregate.Event):
        """A node coming back under the same id: its old connections are gone."""

        class_version = 2
        upcast_v1_v2 = staticmethod(_drop_lease)

    class Heartbeat(Aggregate.Event):
        """Legacy (release 37b8bd6 and before): a lease renewal. Ignored."""

        class_version = 1
        lease_seconds: float

    class Stopped(Aggregate.Event):
        """Its connections are gone: a clean stop, or another node found its lease lapsed."""

        class_version = 1

    @event(Started)
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.running = True

    @staticmethod
    def create_id(node_id: str) -> UUID:
        return node_aggregate_id(node_id)

    def restart(self) -> None:
        self._restarted()

    @event(Restarted)
    def _restarted(self) -> None:
        self.running = True

    @event(Heartbeat)
    def _heartbeat(self, lease_seconds: float) -> None:
        pass

    def stop(self) -> None:
        """Stopping twice changes nothing."""
        if self.running:
            self._stopped()

    @event(Stopped)
    def _stopped(self) -> None:
        self.running = False
