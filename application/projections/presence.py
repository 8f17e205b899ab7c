"""Presence: live connections per user and node, and when each user was last seen.

Rules: a user is online from their first connection (on any node) to their last;
`user-online` goes out when the first opens, `user-offline` with `lastSeen` when the
last closes. A node that restarts or stops takes all its connections with it.
A user whose `lastSeen` setting is off goes offline with `lastSeen: null`; the
time is still kept, and `/api/presence` shows it only while the setting is on."""

from typing import NamedTuple, Protocol

from application.feed import ServerEvent, UserOffline, UserOnline
from application.projections.events import (
    ConnectionClosed,
    ConnectionOpened,
    NodeGone,
    NodeStarted,
    PrivacyChanged,
    ProjectedEvent,
)
from application.projections.feed_rows import FeedRows


class OpenConnection(NamedTuple):
    connection_id: str
    user_id: str
    node_id: str
    opened_at: str


class CloseConnection(NamedTuple):
    connection_id: str


class CloseNode(NamedTuple):
    """Every connection of this node id ends."""

    node_id: str


class AddNode(NamedTuple):
    node_key: str
    node_id: str


class LastSeen(NamedTuple):
    user_id: str
    at: str


class LastSeenShown(NamedTuple):
    """The user's lastSeen setting (off: nobody else sees the time)."""

    user_id: str
    shown: bool


PresenceOp = OpenConnection | CloseConnection | CloseNode | AddNode | LastSeen | LastSeenShown


class PresenceState(Protocol):
    """The stored presence rows, as they are before the event at hand."""

    def connections_of(self, user_id: str, except_node: str | None = None) -> int: ...
    def connection_user(self, connection_id: str) -> str | None: ...
    def node_id(self, node_key: str) -> str | None: ...
    def users_on(self, node_id: str) -> list[str]: ...
    def last_seen_hidden(self, user_id: str) -> bool: ...


class PresenceProjection:
    """One event at a time: each event's operations are applied before the next
    event is projected (connections are few next to messages)."""

    name = "presence"

    def project(self, e: ProjectedEvent, state: PresenceState,
                feed: FeedRows) -> list[PresenceOp]:
        if isinstance(e, ConnectionOpened):
            if state.connections_of(e.user_id) == 0:
                feed.add(e, ServerEvent.USER_ONLINE, UserOnline(user_id=e.user_id),
                         user_id=e.user_id)
            return [OpenConnection(e.connection_id, e.user_id, e.node_id, e.at)]
        if isinstance(e, ConnectionClosed):
            user_id = state.connection_user(e.connection_id)
            if user_id is None:
                return []
            ops: list[PresenceOp] = [CloseConnection(e.connection_id)]
            if state.connections_of(user_id) == 1:
                ops += self._offline(e, user_id, state, feed)
            return ops
        if isinstance(e, PrivacyChanged):
            return [LastSeenShown(e.user_id, e.last_seen)]
        if isinstance(e, NodeStarted):
            return [AddNode(e.node_key, e.node_id)]
        if isinstance(e, NodeGone):
            node_id = state.node_id(e.node_key)
            if node_id is None:
                return []
            ops = [CloseNode(node_id)]
            for user_id in state.users_on(node_id):
                if state.connections_of(user_id, except_node=node_id) == 0:
                    ops += self._offline(e, user_id, state, feed)
            return ops
        return []

    @staticmethod
    def _offline(e: ProjectedEvent, user_id: str, state: PresenceState,
                 feed: FeedRows) -> list[PresenceOp]:
        shown = None if state.last_seen_hidden(user_id) else e.at
        feed.add(e, ServerEvent.USER_OFFLINE, UserOffline(user_id=user_id, last_seen=shown),
                 user_id=user_id)
        return [LastSeen(user_id, e.at)]
