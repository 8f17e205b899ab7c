"""A unit of work: the aggregates one batch of commands reads and changes."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import NotFound

A = TypeVar("A", bound=Aggregate)


@dataclass
class Loaded:
    """An aggregate as the writer holds it, and the store position of its first event
    when known (a message's `seq`)."""

    aggregate: Aggregate
    position: int | None = None


class AggregateLoader(Protocol):
    """Loads many aggregates at once (ids it does not return do not exist), and
    keeps what the writer saved; `forget` drops aggregates whose changes were not saved.

    `optimistic`: the store can check, when a batch is saved, that nothing it read
    has changed since (`UnitOfWork.expected`). The loader may then hand out its cached
    aggregates as they are, and take `absent` ids for absent, without a query."""

    optimistic: bool

    def __call__(self, ids: Iterable[UUID], *, trust_cache: bool = False,
                 absent: Iterable[UUID] = ()) -> dict[UUID, Loaded]: ...
    def remember(self, entries: Iterable[Loaded]) -> None: ...
    def forget(self, ids: Iterable[UUID]) -> None: ...


class UnitOfWork:
    def __init__(self, loader: AggregateLoader, optimistic: bool = False) -> None:
        self._loader = loader
        self._optimistic = optimistic and loader.optimistic
        # None: known not to exist (a load found nothing).
        self._loaded: dict[UUID, Loaded | None] = {}
        # The version of everything read, as read (0: absent). An optimistic unit's save
        # fails if any has moved; the writer then redoes its commands pessimistically.
        self.expected: dict[UUID, int] = {}

    @property
    def optimistic(self) -> bool:
        return self._optimistic

    def preload(self, ids: Iterable[UUID], absent: Iterable[UUID] = ()) -> None:
        """Reads the aggregates the batch's commands will ask for, in one query.
        `absent`: ids the commands create unless they exist (a message's idempotency
        key); an optimistic unit takes them for absent without asking."""
        wanted = [i for i in dict.fromkeys([*ids, *absent]) if i not in self._loaded]
        if wanted:
            found = self._loader(wanted, trust_cache=self._optimistic,
                                 absent=absent if self._optimistic else ())
            for aggregate_id in wanted:
                entry = found.get(aggregate_id)
                self._loaded[aggregate_id] = entry
                self.expected[aggregate_id] = entry.aggregate.version if entry else 0

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        if aggregate_id not in self._loaded:
            self.preload([aggregate_id])
        entry = self._loaded[aggregate_id]
        aggregate = entry.aggregate if entry is not None else None
        return aggregate if isinstance(aggregate, kind) else None

    def get(self, aggregate_id: UUID, kind: type[A], what: str) -> A:
        aggregate = self.find(aggregate_id, kind)
        if aggregate is None:
            raise NotFound(f"{what} not found")
        return aggregate

    def position_of(self, aggregate_id: UUID) -> int | None:
        """Where the aggregate's first event is stored (None: not stored yet)."""
        entry = self._loaded.get(aggregate_id)
        return entry.position if entry is not None else None

    def add(self, aggregate: Aggregate) -> None:
        self._loaded[aggregate.id] = Loaded(aggregate)

    def changed(self) -> list[Loaded]:
        return [e for e in self._loaded.values()
                if e is not None and e.aggregate.pending_events]

    def loaded_ids(self) -> list[UUID]:
        """Every aggregate this unit handed out (changed or not)."""
        return [e.aggregate.id for e in self._loaded.values() if e is not None]


def last_event(aggregate: Aggregate) -> Any:
    """The event a command just triggered, to find its position after the save."""
    return aggregate.pending_events[-1]
