"""A unit of work: the aggregates one batch of commands reads and changes."""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from domain.errors import NotFound

A = TypeVar("A", bound=Aggregate)

# Loads many aggregates at once; ids it does not return do not exist.
AggregateLoader = Callable[[Iterable[UUID]], dict[UUID, Aggregate]]


class UnitOfWork:
    def __init__(self, store: Application[UUID]) -> None:
        self._store = store
        # None: known not to exist (a preload found nothing).
        self._aggregates: dict[UUID, Aggregate | None] = {}

    def preload(self, ids: Iterable[UUID], loader: AggregateLoader) -> None:
        """Reads the aggregates the batch's commands will ask for, in one query."""
        wanted = [i for i in ids if i not in self._aggregates]
        if wanted:
            found = loader(wanted)
            for aggregate_id in wanted:
                self._aggregates[aggregate_id] = found.get(aggregate_id)

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        if aggregate_id in self._aggregates:
            aggregate = self._aggregates[aggregate_id]
        else:
            try:
                aggregate = self._store.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
            self._aggregates[aggregate_id] = aggregate
        return aggregate if isinstance(aggregate, kind) else None

    def get(self, aggregate_id: UUID, kind: type[A], what: str) -> A:
        aggregate = self.find(aggregate_id, kind)
        if aggregate is None:
            raise NotFound(f"{what} not found")
        return aggregate

    def add(self, aggregate: Aggregate) -> None:
        self._aggregates[aggregate.id] = aggregate

    def changed(self) -> list[Aggregate]:
        return [a for a in self._aggregates.values() if a is not None and a.pending_events]


def last_event(aggregate: Aggregate) -> Any:
    """The event a command just triggered, to find its position after the save."""
    return aggregate.pending_events[-1]
