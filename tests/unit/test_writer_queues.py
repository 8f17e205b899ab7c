"""The group-commit writer takes other commands before receipts (bulk), and at most
BULK_PER_BATCH receipts per batch: a receipt storm cannot hold a send behind it."""

import threading
from collections.abc import Iterable
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from application.unit_of_work import Loaded, UnitOfWork
from application.writer import BULK_PER_BATCH, Command, GroupCommitWriter, Outcome


class NoAggregates:
    """A loader for commands that read nothing (a fake: this tests the queueing only)."""

    optimistic = False  # the popo store does not check a batch's reads

    def __call__(self, ids: Iterable[UUID], *, trust_cache: bool = False,
                 absent: Iterable[UUID] = ()) -> dict[UUID, Loaded]:
        return {}

    def remember(self, entries: Iterable[Loaded]) -> None: ...
    def forget(self, ids: Iterable[UUID]) -> None: ...


def test_a_send_queued_behind_a_receipt_storm_runs_in_the_next_batch() -> None:
    writer = GroupCommitWriter(Application[UUID](env={"PERSISTENCE_MODULE": "eventsourcing.popo"}),
                               NoAggregates())
    ran: list[tuple[str, int]] = []
    busy, running = threading.Event(), threading.Event()

    def blocker(uow: UnitOfWork) -> Outcome[None]:
        running.set()
        busy.wait(5)
        return Outcome(None)

    def command(name: str) -> Command:
        def run(uow: UnitOfWork) -> Outcome[None]:
            ran.append((name, writer.batches))
            return Outcome(None)
        return run

    first = writer.submit(blocker)
    assert running.wait(5)
    # Queued while the writer is busy with `first`: the storm first, then a send.
    for i in range(2 * BULK_PER_BATCH + 10):
        writer.submit(command(f"receipt {i}"), bulk=True)
    writer.submit(command("send"))
    busy.set()
    first.result(5)
    writer.stop()
    batch_of = dict(ran)
    assert batch_of["send"] == batch_of["receipt 0"]  # the next batch, not after the storm
    assert ran[0][0] == "send"
    sizes = [sum(1 for _, b in ran if b == batch) for batch in sorted(set(batch_of.values()))]
    assert max(sizes) <= BULK_PER_BATCH + 1 and len(ran) == 2 * BULK_PER_BATCH + 11


def test_a_failing_commit_listener_does_not_fail_what_was_stored() -> None:
    def listener(_notifications: object) -> None:
        raise RuntimeError("the read models are away")

    store = Application[UUID](env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    writer = GroupCommitWriter(store, NoAggregates(), on_commit=listener)

    def create(uow: UnitOfWork) -> Outcome[UUID]:
        aggregate = Aggregate()
        uow.add(aggregate)
        return Outcome(aggregate.id)

    created = writer.execute(create)
    writer.stop()
    assert store.repository.get(created.value).version == 1  # stored, and acked as stored
