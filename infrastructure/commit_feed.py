"""Feed rows of a batch the writer has just committed, for delivery from the commit.

The rows are made the way the read models make theirs: the stored events are decoded
and opened as the projection runner reads them (infrastructure/stored_events.py), and
the same pure history projection shapes them, so a live event is byte for byte what
`rm_feed`, recovery and `GET /api/events` give. Only events whose rows need nothing
but the event itself are delivered this way; a batch holding any other event (its rows
depend on read-model state: membership, presence, a read that privacy may hide) is
left to the feed (`None`)."""

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification

from application.delivery import Committed, Row
from application.projections.history import HistoryProjection
from infrastructure.sealing import Keyring
from infrastructure.stored_events import (
    DELETED,
    DELIVERED_UPTO,
    EDITED,
    PINNED,
    REACTION_ADDED,
    REACTION_REMOVED,
    SENT,
    TYPED,
    UNPINNED,
    decode,
    open_personal,
    typed,
)

# Events whose feed rows the history projection makes from the event alone.
SELF_CONTAINED = frozenset({SENT, EDITED, DELETED, PINNED, UNPINNED, REACTION_ADDED,
                            REACTION_REMOVED, DELIVERED_UPTO})


class _NothingStored:
    """The projection's read-model lookups; self-contained events make none."""

    def where(self, message_ids: Any) -> dict[str, tuple[str, int]]:
        return {}

    def receipts_hidden(self, user_ids: Any) -> set[str]:
        return set()


class CommitFeed:
    def __init__(self, keyring: Keyring | None, history: HistoryProjection) -> None:
        self._keyring = keyring
        self._history = history
        self._stored = _NothingStored()

    def batch(self, notifications: Sequence[Notification]) -> Committed:
        """The committed batch: its positions, and its rows when it can have them here."""
        ordered = sorted(notifications, key=lambda n: n.id)
        first, last = ordered[0].id, ordered[-1].id
        if last - first + 1 != len(ordered) or not all(_direct(n.topic) for n in ordered):
            return Committed(first, last, None)
        changes = decode([(n.id, str(n.originator_id), n.topic, n.state) for n in ordered
                          if n.topic in SELF_CONTAINED])
        events = typed(open_personal(self._keyring, changes))
        if not events:
            return Committed(first, last, [])
        feed = self._history.project(events, self._stored).feed
        rows: list[Row] = [(r.position, r.type, r.chat_id, r.user_id, r.payload)
                           for r in feed.rows]
        return Committed(first, last, rows)


def _direct(topic: str) -> bool:
    # A topic no projection reads (a user registered, a display name) makes no rows.
    return topic in SELF_CONTAINED or topic not in TYPED
