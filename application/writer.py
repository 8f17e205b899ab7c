"""The group-commit writer: one thread drains queued commands, runs their domain
logic and saves everything it drained in ONE transaction.

One save per command costs a transaction (and an fsync) each; batching turns
hundreds of concurrent sends into a handful of commits."""

import asyncio
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Notification

from application.unit_of_work import AggregateLoader, UnitOfWork
from domain.errors import DomainError

log = logging.getLogger(__name__)

T = TypeVar("T")

# After an optimistic batch found something it read moved (another node wrote), how
# long batches read the store first, as they did before saves could check.
PESSIMISTIC_S = 1.0


class _Unverified(Exception):
    """An optimistic batch that cannot be checked by its save: redone reading first."""


class Unavailable(Exception):
    """The store could not be written; nothing of the command was stored."""

    code = "unavailable"


@dataclass
class Outcome(Generic[T]):
    """What a command returns: a value, and the event whose position is its `seq`."""

    value: T
    event: Any = None
    position: int | None = None


Command = Callable[[UnitOfWork], Outcome[Any]]


@dataclass(frozen=True)
class Reading(Generic[T]):
    """A command with the aggregates it will read: the writer loads those of a
    whole batch in one query."""

    run: Callable[[UnitOfWork], Outcome[T]]
    reads: Sequence[UUID]
    # Ids the command creates unless they exist (UnitOfWork.preload's `absent`).
    creates: Sequence[UUID] = ()

    def __call__(self, uow: UnitOfWork) -> Outcome[T]:
        return self.run(uow)


@dataclass
class _Queued:
    command: Command
    future: "Future[Outcome[Any]] | asyncio.Future[Outcome[Any]]" = field(
        default_factory=Future)
    loop: asyncio.AbstractEventLoop | None = None  # set for asyncio futures
    settled: bool = False
    bulk: bool = False  # a receipt: waits behind everything else (BULK_PER_BATCH)


# Receipts per batch at most: a batch stays short, so a send queued behind a storm
# of receipts waits for one short batch, not for the storm, and shares its own with few.
# In issue 12's storm over sockets (999 members acking at once) another chat's send ack
# was p50 212-315 / p99 399-502 ms with 200, 22-41 / 139-276 ms with 32 (2026-12-04).
# After the collector was tuned and receipts admitted a few per loop turn (2026-12-07):
# 32 gave 2,136-3,251 receipts/s and p99 56-169 ms; 16 gave 2,562-2,591/s and p99
# 35-66 ms; 8 fell to 1,500-1,765/s. Once batches stopped reading the store first
# (optimistic batches), 16 gave 3,589-3,875/s but p99 112-123 ms: the loop, not the
# writer, became the limit. 8 gives 2,542-2,660/s and p99 46-88 ms (bench/RESULTS.md).
BULK_PER_BATCH = 8


def _settle_all(results: list[tuple["asyncio.Future[Outcome[Any]]", Any, bool]]) -> None:
    for future, value, failed in results:
        if not future.done():
            if failed:
                future.set_exception(value)
            else:
                future.set_result(value)


class GroupCommitWriter:
    def __init__(
        self,
        store: Application[UUID],
        loader: AggregateLoader,
        max_batch: int = 1000,
        on_commit: Callable[[Sequence[Notification]], None] | None = None,
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._loader = loader
        # Commands arrive in a C-level queue: putting one takes no Python lock, so the
        # event loop never waits for a writer that lost the GIL while holding one.
        # None asks the writer to stop. The writer sorts what arrived into two queues:
        # receipts (bulk: a room of 1,000 acks every message) wait behind everything
        # else, and a batch takes at most BULK_PER_BATCH of them, so a receipt storm in
        # one chat never makes another chat's send wait for it.
        self._inbox: queue.SimpleQueue[_Queued | None] = queue.SimpleQueue()
        self._urgent: deque[_Queued] = deque()
        self._bulk: deque[_Queued] = deque()
        self._stopping = False
        self._on_commit = on_commit
        self._thread = threading.Thread(target=self._run, name="eschat-writer", daemon=True)
        self._started = False
        self._closed = False
        self.batches = 0
        self.commands = 0
        self._results: list[tuple[_Queued, Any, bool]] = []
        # Until then batches read the store before deciding (`_commit_batch`).
        self._pessimistic_until = 0.0

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def submit(self, command: Command, bulk: bool = False) -> "Future[Outcome[Any]]":
        future: Future[Outcome[Any]] = Future()
        self._put(_Queued(command, future, bulk=bulk))
        return future

    def submit_async(self, command: Command, bulk: bool = False
                     ) -> "asyncio.Future[Outcome[Any]]":
        """From the event loop: the writer settles a whole batch's futures with
        one wake-up of the loop, not one per command."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome[Any]] = loop.create_future()
        self._put(_Queued(command, future, loop, bulk=bulk))
        return future

    def _put(self, item: _Queued) -> None:
        if self._closed:
            raise Unavailable("the server is shutting down")
        self.start()
        self._inbox.put(item)

    def execute(self, command: Command, timeout: float = 30.0) -> Outcome[Any]:
        """Blocking convenience for scripts and the CLI."""
        return self.submit(command).result(timeout)

    def _settle(self, item: _Queued, value: Any, failed: bool = False) -> None:
        item.settled = True
        self._results.append((item, value, failed))

    def _deliver(self) -> None:
        """Hands the batch's outcomes over: one call_soon_threadsafe per event loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for item, value, failed in self._results:
            if item.loop is None:
                future: Any = item.future
                if failed:
                    future.set_exception(value)
                else:
                    future.set_result(value)
            else:
                by_loop.setdefault(item.loop, []).append((item.future, value, failed))
        self._results = []
        for loop, results in by_loop.items():
            with suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle_all, results)

    def stop(self) -> None:
        """Finishes every queued command, then stops the thread."""
        self._closed = True
        if self._started:
            self._inbox.put(None)
            self._thread.join()

    def _drain(self) -> tuple[list[_Queued], bool]:
        """The next batch, and whether the writer stops after it (queues empty)."""
        if not self._urgent and not self._bulk and not self._stopping:
            self._sort(self._inbox.get())  # nothing to do: sleep until something comes
        while True:
            try:
                self._sort(self._inbox.get_nowait())
            except queue.Empty:
                break
        batch: list[_Queued] = []
        while self._urgent and len(batch) < self._max_batch:
            batch.append(self._urgent.popleft())
        room = min(self._max_batch - len(batch), BULK_PER_BATCH)
        while self._bulk and room > 0:
            batch.append(self._bulk.popleft())
            room -= 1
        return batch, self._stopping and not self._urgent and not self._bulk

    def _sort(self, item: _Queued | None) -> None:
        if item is None:
            self._stopping = True
        else:
            (self._bulk if item.bulk else self._urgent).append(item)

    def _run(self) -> None:
        while True:
            batch, stop = self._drain()
            if batch:
                self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Queued]) -> None:
        try:
            self._commit_batch(batch)
        finally:
            self._deliver()

    def _commit_batch(self, batch: list[_Queued]) -> None:
        try:
            optimistic = time.monotonic() >= self._pessimistic_until
            try:
                self._try_batch(batch, optimistic)
            except (IntegrityError, _Unverified) as e:
                if not optimistic:
                    raise
                if isinstance(e, IntegrityError):
                    # Something read had moved: another node writes here, so read
                    # before deciding for a while (a failed save costs a round trip).
                    self._pessimistic_until = time.monotonic() + PESSIMISTIC_S
                self._try_batch(batch)  # the same batch, on what the store holds
        except IntegrityError:
            # A concurrent writer (another node, or a racing idempotent retry)
            # touched one of the aggregates: redo each command on its own, with
            # everything read from the store, so one conflict cannot fail the others.
            for item in batch:
                if not item.settled:
                    try:
                        self._try_batch([item])
                    except IntegrityError:
                        try:
                            self._try_batch([item])  # re-read: the race is settled now
                        except Exception as e:
                            self._settle(item, Unavailable(f"could not store: {e}"), True)
                    except Exception as e:
                        log.exception("store write failed")
                        self._settle(item, Unavailable(f"store unavailable: {e}"), True)
        except Exception as e:
            log.exception("store write failed")
            for item in batch:
                if not item.settled:
                    self._settle(item, Unavailable(f"store unavailable: {e}"), True)

    def _try_batch(self, batch: list[_Queued], optimistic: bool = False) -> None:
        uow = UnitOfWork(self._loader, optimistic)
        try:
            self._run_batch(batch, uow)
        except BaseException:
            # Not saved: the cache must not keep what the batch changed. A failed save has
            # already collected the pending events (and moved the versions), so what changed
            # cannot be told any more: forget everything the batch loaded.
            self._loader.forget(uow.loaded_ids())
            raise

    def _run_batch(self, batch: list[_Queued], uow: UnitOfWork) -> None:
        todo = [item for item in batch if not item.settled]
        uow.preload([i for item in todo for i in getattr(item.command, "reads", ())],
                    [i for item in todo for i in getattr(item.command, "creates", ())])
        outcomes: list[tuple[_Queued, Outcome[Any]]] = []
        refused: list[tuple[_Queued, DomainError]] = []
        for item in todo:
            try:
                outcomes.append((item, item.command(uow)))
            except DomainError as e:
                refused.append((item, e))  # it changed nothing: validation comes first
        changed = uow.changed()
        if uow.optimistic and (refused or not changed):
            # What the cache said is checked only by a save: a refusal, or an answer
            # that stores nothing, must stand on what the store holds.
            raise _Unverified
        for item, error in refused:
            self._settle(item, error, True)
        positions: dict[int, int] = {}
        notifications: list[Notification] = []
        if changed:
            # An optimistic unit's reads are checked as the batch is stored.
            expect = {"expect": uow.expected} if uow.optimistic else {}
            recordings = self._store.save(*[e.aggregate for e in changed], **expect)
            notifications = [r.notification for r in recordings]
            positions = {id(r.domain_event): r.notification.id for r in recordings}
            created = {e.aggregate.id: e for e in changed if e.position is None}
            for r in recordings:  # a new aggregate's position is its first event's
                entry = created.get(r.domain_event.originator_id)
                if entry is not None and r.domain_event.originator_version == 1:
                    entry.position = r.notification.id
            self._loader.remember(changed)
        for item, outcome in outcomes:
            if outcome.event is not None:
                outcome.position = positions.get(id(outcome.event))
            self._settle(item, outcome)
        self.batches += 1
        self.commands += len(outcomes)
        if notifications and self._on_commit is not None:
            # Before the batch's futures are settled (`_deliver`): a delivery scheduled
            # here reaches the loop ahead of the acks, so an acked message is on the wire.
            # The batch is stored whatever happens here: a failure must not fail its acks.
            try:
                self._on_commit(notifications)
            except Exception:
                log.exception("commit listener failed")
