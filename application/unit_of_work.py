"""A unit of work: the aggregates one batch of commands reads and changes."""

from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from domain.errors import NotFound

A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    def __init__(self, store: Application[UUID]) -> None:
        self._store = store
        self._aggregates: dict[UUID, Aggregate] = {}

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        aggregate = self._aggregates.get(aggregate_id)
        if aggregate is None:
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
        return [a for a in self._aggregates.values() if a.pending_events]


def last_event(aggregate: Aggregate) -> Any:
    """The event a command just triggered, to find its position after the save."""
    return aggregate.pending_events[-1]
