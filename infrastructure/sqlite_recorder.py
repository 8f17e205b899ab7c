"""The SQLite event recorder: eventsourcing's, with a check of what a batch read.

The writer may decide a batch on its cached aggregates without reading the store
first (application/writer.py, `UnitOfWork.expected`). Before the batch commits, this
recorder checks that none of the aggregates it read has moved since: the batch's
first insert took the file's write lock (SQLite has one writer per file, and a WAL
reader upgrading to writer sees the latest commit), so no other process (`eschat
serve --workers N`) can commit between the check and this commit. A moved aggregate
fails the batch with IntegrityError, as a version conflict does."""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

CHUNK = 400  # (id, version) pairs per query: well under SQLite's variable limit


class CheckingSQLiteRecorder(SQLiteApplicationRecorder):
    checks_reads = True

    def insert_events(self, stored_events: Sequence[StoredEvent], *,
                      expect: Mapping[UUID, int] | None = None,
                      **kwargs: Any) -> Sequence[int] | None:
        """`expect`: the version of each aggregate the batch read (0: absent)."""
        with self.datastore.transaction(commit=True) as cursor:
            ids = self._insert_events(cursor, stored_events, **kwargs)
            if expect and ids:
                self._check(cursor, expect, min(ids))
            return ids

    def _check(self, cursor: Any, expect: Mapping[UUID, int], first_own: int) -> None:
        """Raises if an aggregate read has an event beyond its expected version that
        this batch did not just insert (rowids from `first_own` on are its own)."""
        for with_w, params in versions_table(expect):
            cursor.execute(
                f"{with_w} SELECT 1 FROM {self.events_table_name} e JOIN w"
                " ON e.originator_id = w.id AND e.originator_version > w.v"
                " WHERE e.rowid < ? LIMIT 1", [*params, first_own])
            if cursor.fetchone() is not None:
                raise IntegrityError("stale read: an aggregate the batch read has changed since")


def versions_table(versions: Mapping[UUID, int]) -> Iterator[tuple[str, list[Any]]]:
    """`WITH w(id, v) AS (VALUES ...)` and its parameters for (aggregate id, version)
    pairs, CHUNK at a time (SQLite keeps ids as hex text)."""
    pairs = list(versions.items())
    for i in range(0, len(pairs), CHUNK):
        part = pairs[i:i + CHUNK]
        yield (f"WITH w(id, v) AS (VALUES {', '.join(['(?, ?)'] * len(part))})",
               [x for uid, version in part for x in (uid.hex, version)])
