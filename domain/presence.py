"""Connections and node leases: the durable facts behind presence."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import node_aggregate_id


class Connection(Aggregate):
    """One Socket.IO connection of a user on a node."""

    @event("Opened")
    def __init__(self, user_id: str, node_id: str) -> None:
        self.user_id = user_id
        self.node_id = node_id
        self.open = True

    def close(self) -> None:
        if self.open:
            self._closed()

    @event("Closed")
    def _closed(self) -> None:
        self.open = False


class Node(Aggregate):
    """A serving process. Its heartbeats are a lease: when they stop, its
    connections stop counting."""

    @event("Started")
    def __init__(self, node_id: str, lease_seconds: float) -> None:
        self.node_id = node_id
        self.lease_seconds = lease_seconds

    @staticmethod
    def create_id(node_id: str) -> UUID:
        return node_aggregate_id(node_id)

    def restart(self, lease_seconds: float) -> None:
        """A node coming back under the same id: its old connections are gone."""
        self._restarted(lease_seconds=lease_seconds)

    @event("Restarted")
    def _restarted(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds

    def heartbeat(self, lease_seconds: float) -> None:
        self._heartbeat(lease_seconds=lease_seconds)

    @event("Heartbeat")
    def _heartbeat(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds

    def stop(self) -> None:
        """Its connections are gone: on a clean stop, or when another node finds
        its lease lapsed. Stopping twice changes nothing."""
        if self.lease_seconds > 0:
            self._stopped()

    @event("Stopped")
    def _stopped(self) -> None:
        self.lease_seconds = 0.0
