"""Feed rows of a batch the writer has just committed, for delivery from the commit.

The rows are made the way the read models make theirs: the stored events are decoded
and opened as the projection runner reads them (infrastructure/stored_events.py), and
the same pure history projection shapes them, so a live event is byte for byte what
`rm_feed`, recovery and `GET /api/events` give. Only events whose rows need nothing
but the event itself, and reads, are delivered this way; a batch holding any other
event (its rows depend on read-model state: membership, presence) is left to the feed
(`None`).

A read needs one piece of state: whether its reader hides their receipts at that
position. The read models answer as of their own position P (one statement, so the
answer and P are one snapshot); the node's own privacy changes after P are applied on
top. That is exact when every position between P and the batch is this node's own
commit: nothing else could have changed a setting there. When P is already inside the
batch (the runner was quicker than the writer's query), the answer is as good: a batch
delivered from the commit holds no privacy change. Otherwise the batch is left to the
feed, which is always exact."""

from collections.abc import Callable, Iterable, Sequence

from eventsourcing.persistence import Notification

from application.delivery import Committed, Row
from application.projections.history import HistoryProjection
from infrastructure.sealing import Keyring
from infrastructure.stored_events import (
    DELETED,
    DELIVERED_UPTO,
    EDITED,
    PINNED,
    PRIVACY_CHANGED,
    REACTION_ADDED,
    REACTION_REMOVED,
    READ_UPTO,
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
DIRECT = SELF_CONTAINED | {READ_UPTO}

# This node's runs of positions kept (one while no other node writes between them).
MAX_RUNS = 10_000
# readers -> (the read models' position, those of the readers hiding their receipts there)
HiddenReaders = Callable[[list[str]], tuple[int, set[str]]]


class _Known:
    """The projection's read-model lookups, answered from what the batch knows."""

    def __init__(self, hidden: set[str]) -> None:
        self._hidden = hidden

    def where(self, message_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        return {}  # marks name their chat and seq

    def receipts_hidden(self, user_ids: Iterable[str]) -> set[str]:
        return self._hidden & set(user_ids)


class CommitFeed:
    """On the writer thread only: told of every batch the node commits, in order."""

    def __init__(self, keyring: Keyring | None, history: HistoryProjection,
                 hidden_readers: HiddenReaders | None = None) -> None:
        self._keyring = keyring
        self._history = history
        self._hidden_readers = hidden_readers
        self._own: list[tuple[int, int]] = []  # this node's committed runs, oldest first
        self._own_privacy: list[tuple[int, str, bool]] = []  # (position, user, shows reads)
        self._known_from = 0  # the two lists hold everything of this node from here on

    def batch(self, notifications: Sequence[Notification]) -> Committed:
        """The committed batch: its positions, and its rows when it can have them here."""
        ordered = sorted(notifications, key=lambda n: n.id)
        first, last = ordered[0].id, ordered[-1].id
        self._remember(ordered)
        if last - first + 1 != len(ordered) or not all(_direct(n.topic) for n in ordered):
            return Committed(first, last, None)
        changes = decode([(n.id, str(n.originator_id), n.topic, n.state) for n in ordered
                          if n.topic in DIRECT])
        events = typed(open_personal(self._keyring, changes))
        if not events:
            return Committed(first, last, [])
        readers = sorted({c.state.user_id for c in changes if c.topic == READ_UPTO})
        hidden = self._hidden_at(first, last, readers) if readers else set()
        if hidden is None:
            return Committed(first, last, None)
        feed = self._history.project(events, _Known(hidden)).feed
        rows: list[Row] = [(r.position, r.type, r.chat_id, r.user_id, r.payload)
                           for r in feed.rows]
        return Committed(first, last, rows)

    def forget(self, upto: int) -> None:
        """After a batch this feed could not follow: nothing before `upto` is known."""
        self._own, self._own_privacy, self._known_from = [], [], upto + 1

    def _remember(self, ordered: Sequence[Notification]) -> None:
        if len(self._own) > MAX_RUNS:  # forgetting only sends more batches to the feed
            self._own, self._own_privacy = [], []
            self._known_from = ordered[0].id
        for n in ordered:
            if self._own and self._own[-1][1] == n.id - 1:
                self._own[-1] = (self._own[-1][0], n.id)
            else:
                self._own.append((n.id, n.id))
            if n.topic == PRIVACY_CHANGED:
                [change] = decode([(n.id, str(n.originator_id), n.topic, n.state)])
                self._own_privacy.append((n.id, change.state.user_id,
                                          change.state.read_receipts))

    def _hidden_at(self, first: int, last: int, readers: list[str]) -> set[str] | None:
        """The readers hiding their receipts at `first` (the batch `first`..`last` was
        just committed), or None if that cannot be known here (see the module's doc)."""
        if self._hidden_readers is None:
            return None
        projected, hidden = self._hidden_readers(readers)
        if projected >= first:
            # The runner already projected part of this batch (the store's NOTIFY can wake
            # it before this query). The batch changes no privacy, so that answer is the
            # one at `first`; past the batch lie events of another node or process.
            return hidden if projected <= last else None
        if projected + 1 < self._known_from:
            return None  # our list of changes may lack one
        self._own = [run for run in self._own if run[1] > projected]
        self._own_privacy = [p for p in self._own_privacy if p[0] > projected]
        covered = projected
        for start, end in self._own:
            if start > covered + 1 or covered >= first - 1:
                break
            covered = max(covered, end)
        if covered < first - 1:
            return None  # another node's or process's events lie between: ask the feed
        for position, user, shows in self._own_privacy:
            if position < first:
                (hidden.discard if shows else hidden.add)(user)
        return hidden


def _direct(topic: str) -> bool:
    # A topic no projection reads (a user registered, a display name) makes no rows.
    return topic in DIRECT or topic not in TYPED
