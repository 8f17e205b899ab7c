"""The group-commit writer: one thread drains queued commands, runs their domain
logic and saves everything it drained in ONE transaction.

One save per command costs a transaction (and an fsync) each; batching turns
hundreds of concurrent sends into a handful of commits."""

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from application.unit_of_work import UnitOfWork
from domain.errors import DomainError

log = logging.getLogger(__name__)

T = TypeVar("T")


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


@dataclass
class _Queued:
    command: Command
    future: "Future[Outcome[Any]]" = field(default_factory=Future)


_STOP = object()


class GroupCommitWriter:
    def __init__(
        self,
        store: Application[UUID],
        max_batch: int = 200,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._on_commit = on_commit
        self._thread = threading.Thread(target=self._run, name="eschat-writer", daemon=True)
        self._started = False
        self._closed = False
        self.batches = 0
        self.commands = 0

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def submit(self, command: Command) -> "Future[Outcome[Any]]":
        if self._closed:
            raise Unavailable("the server is shutting down")
        self.start()
        item = _Queued(command)
        self._queue.put(item)
        return item.future

    def execute(self, command: Command, timeout: float = 30.0) -> Outcome[Any]:
        """Blocking convenience for scripts and the CLI."""
        return self.submit(command).result(timeout)

    def stop(self) -> None:
        """Finishes every queued command, then stops the thread."""
        self._closed = True
        if self._started:
            self._queue.put(_STOP)
            self._thread.join()

    def _drain(self) -> tuple[list[_Queued], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch: list[_Queued] = [first]
        stop = False
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
                break
            batch.append(item)
        return batch, stop

    def _run(self) -> None:
        while True:
            batch, stop = self._drain()
            if batch:
                self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Queued]) -> None:
        try:
            self._try_batch(batch)
        except IntegrityError:
            # A concurrent writer (another node, or a racing idempotent retry)
            # touched one of the aggregates: redo each command on its own so
            # one conflict cannot fail the others.
            for item in batch:
                if not item.future.done():
                    try:
                        self._try_batch([item])
                    except IntegrityError:
                        try:
                            self._try_batch([item])  # re-read: the race is settled now
                        except Exception as e:
                            item.future.set_exception(Unavailable(f"could not store: {e}"))
                    except Exception as e:
                        log.exception("store write failed")
                        item.future.set_exception(Unavailable(f"store unavailable: {e}"))
        except Exception as e:
            log.exception("store write failed")
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(Unavailable(f"store unavailable: {e}"))

    def _try_batch(self, batch: list[_Queued]) -> None:
        uow = UnitOfWork(self._store)
        outcomes: list[tuple[_Queued, Outcome[Any]]] = []
        for item in batch:
            if item.future.done():
                continue
            try:
                outcomes.append((item, item.command(uow)))
            except DomainError as e:
                item.future.set_exception(e)
        changed = uow.changed()
        positions: dict[int, int] = {}
        if changed:
            recordings = self._store.save(*changed)
            positions = {id(r.domain_event): r.notification.id for r in recordings}
        for item, outcome in outcomes:
            if outcome.event is not None:
                outcome.position = positions.get(id(outcome.event))
            item.future.set_result(outcome)
        self.batches += 1
        self.commands += len(outcomes)
        if positions and self._on_commit is not None:
            self._on_commit(max(positions.values()))
