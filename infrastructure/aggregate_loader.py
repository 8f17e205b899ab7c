"""Loads many aggregates in one query: the group-commit writer reads every
aggregate a batch of commands names up front, instead of one SELECT per command
(a send with a clientMessageId looks up its message id: mostly a miss)."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from psycopg.rows import tuple_row

CHUNK = 500


class AggregateLoader:
    def __init__(self, store: Application[UUID]) -> None:
        self._store = store

    def __call__(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        events: dict[UUID, list[Any]] = defaultdict(list)
        mapper = self._store.mapper
        for originator_id, version, topic, state in self._rows(wanted):
            uid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
            events[uid].append(mapper.to_domain_event(
                StoredEvent(originator_id=uid, originator_version=version, topic=topic,
                            state=bytes(state))))
        return {uid: project_aggregate(None, evs) for uid, evs in events.items()}

    def _rows(self, ids: list[UUID]) -> list[tuple[Any, ...]]:
        recorder: Any = self._store.recorder
        table = recorder.events_table_name
        datastore = recorder.datastore
        columns = "originator_id, originator_version, topic, state"
        if hasattr(datastore, "schema"):  # PostgreSQL: uuid column
            with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(
                    f'SELECT {columns} FROM "{datastore.schema}"."{table}"'
                    " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version",
                    (ids,), prepare=True,
                )
                return list(cur.fetchall())
        rows: list[tuple[Any, ...]] = []
        with datastore.transaction(commit=False) as c:  # SQLite: hex text
            for i in range(0, len(ids), CHUNK):
                part = [u.hex for u in ids[i:i + CHUNK]]
                c.execute(f"SELECT {columns} FROM {table} WHERE originator_id IN"
                          f" ({','.join('?' * len(part))}) ORDER BY originator_id,"
                          " originator_version", part)
                rows.extend(tuple(r) for r in c.fetchall())
        return rows
