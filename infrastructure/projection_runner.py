"""Follows the store's notification log and feeds the projections.

One thread per process. Projections run once per cluster: only the node holding
the projection lock (infrastructure/advisory_locks.py) applies events; every other
node follows the read models' positions, announced by the leader's NOTIFY, and fans
out the feed to its own sockets. A batch and every projection's tracking position
commit in one transaction that locks the tracking rows first, so a rebuild from the
CLI or a leader that lost its lock's connection never applies an event twice.
Wake-ups come from the local writer (in-process), PostgreSQL LISTEN/NOTIFY, and a
slow poll as the safety net (eventsourcing's SQLite recorder has no subscriptions)."""

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application

from infrastructure.advisory_locks import ProjectionLeadership, SoleLeader
from infrastructure.eventstore import head_position
from infrastructure.peers import Peers
from infrastructure.postgres_recorder import COMMITTER
from infrastructure.readmodels.common import Projection, create_schema
from infrastructure.readmodels.database import Database
from infrastructure.readmodels.queries import SqlReadModels
from infrastructure.rebuild import Progress, Rebuild, RebuildResult
from infrastructure.stored_events import Change, read_changes

log = logging.getLogger(__name__)

PROJECTED_CHANNEL = "eschat_projected"  # the leader NOTIFYs it after applying a batch
# How long a cycle may wait for more events when nobody waits for it: commits this node
# delivered itself (interfaces/gateway.py) only need the read models eventually, and a
# cycle per commit at 100 sends/s is 100 transactions/s competing with the writer. On
# PostgreSQL the NOTIFYs of this process's own commits say so (`COMMITTER`) and do not
# cut the wait short; other nodes' do. Reads that must reflect what this node
# delivered wait for it (`delivered`, application/service.py).
LINGER_S = 0.02
# The same for a node serving alone (infrastructure/peers.py): no follower waits for its
# cycles to fan its commits out, so they may gather more events each.
LONE_LINGER_S = 0.1

# listener(rows, upto): feed rows in store order, complete up to position `upto`.
FeedListener = Callable[[list[tuple[Any, ...]], int], None]


class ProjectionRunner:
    def __init__(
        self,
        store: Application[UUID],
        db: Database,
        projections: Sequence[Projection],
        *,
        batch_size: int = 500,
        poll_interval: float = 0.25,
        listen_conninfo: str | None = None,
        listen_channel: str | None = None,
        leadership: ProjectionLeadership | SoleLeader | None = None,
        peers: Peers | None = None,
    ) -> None:
        self._store = store
        self._db = db
        self.projections = list(projections)
        self._queries = SqlReadModels(db)
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._listen = (listen_conninfo, listen_channel)
        self._leadership = leadership or SoleLeader()
        self._peers = peers or Peers()  # alone: no NOTIFY, a longer linger (peers.py)
        self._wake = threading.Event()
        self._urgent = threading.Event()  # someone waits: no lingering
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._listen_thread: threading.Thread | None = None
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[bool]]] = []
        self._waiters_lock = threading.Lock()
        self._listeners: list[FeedListener] = []
        self._delivered: Callable[[], int] = lambda: 0
        self._emitted: dict[str, int] = {}
        self.positions: dict[str, int] = {}
        # Whether this node applied the projections at its last cycle (the cluster's one
        # node that also runs its periodic retention sweep).
        self.leading = False
        create_schema(db, self.projections)
        self.positions = self._queries.positions()

    # -- control ---------------------------------------------------------------
    def start(self) -> None:
        # Live fan-out starts at the present: old events reach clients through
        # history and recovery, not as live events. A projection new to this store
        # (building from the first event) fans out nothing of what it catches up.
        present = max(self.positions.values(), default=0)
        self._emitted = dict.fromkeys(self.positions, present)
        self._thread = threading.Thread(target=self._run, name="eschat-projections", daemon=True)
        self._thread.start()
        conninfo, channel = self._listen
        if conninfo and channel:
            self._listen_thread = threading.Thread(
                target=self._listen_loop, args=(conninfo, channel), name="eschat-listen",
                daemon=True,
            )
            self._listen_thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._leadership.release()

    def wake(self, urgent: bool = True) -> None:
        """New events are stored. `urgent=False`: they are delivered already; the next
        cycle may linger (`LINGER_S`) for more unless something waits for the read models."""
        if urgent:
            self._urgent.set()
        self._wake.set()

    def add_listener(self, listener: FeedListener,
                     delivered: Callable[[], int] | None = None) -> None:
        """Runs on the runner thread after every cycle, even with no new rows.
        `delivered`: how far the node has delivered already (from its commits): rows
        up to there are not read back."""
        self._listeners.append(listener)
        if delivered is not None:
            self._delivered = delivered

    def delivered(self) -> int:
        """How far this node has delivered from its own commits (0 without a gateway)."""
        return self._delivered()

    @property
    def position(self) -> int:
        return min(self.positions.values()) if self.positions else 0

    def lag(self) -> dict[str, int]:
        head = head_position(self._store)
        return {name: max(0, head - pos) for name, pos in self.positions.items()}

    # -- processing ------------------------------------------------------------
    def catch_up(self) -> int:
        """Processes everything stored so far (CLI, tests). Returns the count."""
        total = 0
        while True:
            n = self._cycle()
            total += n
            if n == 0:
                return total

    def _cycle(self) -> int:
        """Applies the next batch. Starts from the positions this runner last saw (the
        tracking rows, locked in the transaction, decide what is really applied), so a
        cycle costs one read of the log and one transaction: every round trip here is
        latency on every message, and a GIL hand-off back to this thread."""
        changes = read_changes(self._store, self.position, self._batch_size)
        if not changes:
            fresh = self._queries.positions()
            if fresh == self.positions:
                return 0
            self.positions = fresh  # moved by another node or the CLI: follow them
            changes = read_changes(self._store, self.position, self._batch_size)
            if not changes:
                return 0
        with self._db.transaction() as tx:
            positions = self._apply(tx, changes)
            if self._listen[0] and not self._peers.alone():  # followers on other nodes
                tx.execute("SELECT pg_notify(%s, %s)", (PROJECTED_CHANNEL, COMMITTER))
        # Only once committed: `wait_for` (read-your-writes, tests) reads these from
        # other threads, and a reader woken before the commit saw the batch missing. A
        # failed commit leaves them, so the next cycle reads the batch again.
        self.positions = positions
        return len(changes)

    def _apply(self, tx: Any, changes: list[Change]) -> dict[str, int]:
        """A batch and every projection's tracking position, in the caller's
        transaction; the tracking rows are locked first (in one order, so a rebuild
        and a live cycle never deadlock). Returns the new positions."""
        names = [p.name for p in self.projections]
        marks = ", ".join(["%s"] * len(names))
        current = dict(tx.fetchall(
            f"SELECT name, position FROM rm_tracking WHERE name IN ({marks})"
            " ORDER BY name FOR UPDATE", names))
        last = changes[-1].position
        for projection in self.projections:
            todo = [c for c in changes if c.position > int(current[projection.name])]
            if todo:
                projection.apply(tx, todo)
        tx.execute(f"UPDATE rm_tracking SET position = %s WHERE name IN ({marks})"
                   " AND position < %s", (last, *names, last))
        return {name: max(int(current[name]), last) for name in names}

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.leading = self._leadership.is_leader()
                if self.leading:
                    n = self._cycle()
                else:
                    n = 0
                    self.positions = self._queries.positions()
                self._emit_feed()
                self._resolve_waiters()
            except Exception:
                log.exception("projection cycle failed; retrying")
                n = 0
                self._stopped.wait(1.0)
            if n < self._batch_size:
                self._wake.wait(self._poll_interval)
                self._wake.clear()
                if not self._urgent.is_set():
                    self._urgent.wait(LONE_LINGER_S if self._peers.alone() else LINGER_S)
                self._urgent.clear()

    def _emit_feed(self) -> None:
        """Hands new feed rows, in store order, to the listeners with the position
        they are complete up to."""
        if not self._listeners:
            self._emitted = dict(self.positions)
            return
        # Only forward: a position that went back (a CLI rebuild) is not fanned out again.
        moved = {name: (after, upto) for name, upto in self.positions.items()
                 if upto > (after := self._emitted.get(name, upto))}
        delivered = self._delivered()
        to_read = {name: (max(after, delivered), upto) for name, (after, upto) in moved.items()}
        rows: list[tuple[Any, ...]] = []
        if len(to_read) == len(self.positions) and len(set(to_read.values())) == 1:
            after, upto = next(iter(to_read.values()))  # the usual case: one query for all
            if upto > after:
                rows = self._queries.feed_rows(None, after, upto)
        else:
            for name, (after, upto) in to_read.items():
                if upto > after:
                    rows.extend(self._queries.feed_rows(name, after, upto))
            rows.sort(key=lambda r: r[0])
        self._emitted.update({name: upto for name, (_, upto) in moved.items()})
        upto = min(self._emitted.values()) if self._emitted else 0
        for listener in self._listeners:
            try:
                listener(rows, upto)
            except Exception:
                log.exception("feed listener failed")

    def _listen_loop(self, conninfo: str, channel: str) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f'LISTEN "{channel}"')
                    conn.execute(f'LISTEN "{PROJECTED_CHANNEL}"')
                    while not self._stopped.is_set():
                        for note in conn.notifies(timeout=1.0, stop_after=1):
                            # This process's own commits: the writer woke the runner
                            # already, and its own projection cycle needs no other.
                            foreign = note.payload != COMMITTER
                            if foreign:
                                self._peers.heard()
                            self.wake(urgent=foreign)
            except Exception:
                log.warning("LISTEN connection lost; polling until it is back")
                self._stopped.wait(1.0)

    # -- read-your-writes ------------------------------------------------------
    async def wait_for(self, position: int, timeout: float) -> bool:
        if self.position >= position:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._waiters_lock:
            self._waiters.append((position, loop, future))
        self.wake()
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return self.position >= position

    def _resolve_waiters(self) -> None:
        reached = self.position
        with self._waiters_lock:
            ready = [w for w in self._waiters if w[0] <= reached]
            self._waiters = [w for w in self._waiters if w[0] > reached]
        for _, loop, future in ready:
            loop.call_soon_threadsafe(_set_if_pending, future)

    # -- rebuild ---------------------------------------------------------------
    def rebuild(self, names: list[str] | None = None, *, restart: bool = False,
                batch_size: int | None = None, progress: Progress | None = None,
                stop: threading.Event | None = None) -> RebuildResult:
        """Builds the named read models (all by default) beside the live ones and
        swaps them in (infrastructure/rebuild.py); resumes one under way."""
        result = Rebuild(self._store, self._db, self.projections, batch_size=batch_size,
                         progress=progress, stop=stop).run(names, restart)
        if result.switched:
            self.positions = self._queries.positions()
        return result


def _set_if_pending(future: "asyncio.Future[bool]") -> None:
    if not future.done():
        future.set_result(True)
