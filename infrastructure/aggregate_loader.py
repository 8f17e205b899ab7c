"""Loads aggregates for the group-commit writer: many in one query, from their
latest snapshot, and kept in an LRU cache (eventsourcing's `LRUCache`) that is
fast-forwarded from the store on every use.

Fast-forwarding reads the events stored after the cached version, for every cached
aggregate a batch names, in ONE query: usually none, and when another node wrote
meanwhile, exactly what it wrote. So a chat with 4,000 membership changes costs what
a new one costs, and the cache is never stale. The writer hands the cached objects
to its unit of work; when a batch fails to save, it evicts what the batch changed
(`forget`), so an unsaved change never stays in the cache."""

from collections import defaultdict
from collections.abc import Iterable
from contextlib import suppress
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, LRUCache, project_aggregate
from eventsourcing.persistence import StoredEvent
from psycopg.rows import tuple_row

from application.unit_of_work import Loaded
from infrastructure.sqlite_recorder import versions_table

CACHE_SIZE = 5000
# PostgreSQL reads at most this many events per aggregate per query, and asks again
# for the aggregates that filled it. A LIMIT per aggregate keeps the plan a walk of the
# primary key: on a store whose few aggregates hold most events (the planner's
# statistics then say "an aggregate has ~70k events"), a plain join was planned as a
# parallel scan of the whole table, 30 ms per batch at 200k events.
PG_PAGE = 1000


class AggregateLoader:
    def __init__(self, store: Application[UUID], cache_size: int = CACHE_SIZE) -> None:
        self._store = store
        self._cache: LRUCache[UUID, Loaded] = LRUCache(cache_size)
        self.hits = 0
        self.misses = 0
        # Our recorders check a batch's reads as they store it (postgres_recorder.py,
        # sqlite_recorder.py): the writer may then skip the fast-forward, and is told
        # at the save if it missed something.
        self.optimistic = bool(getattr(store.recorder, "checks_reads", False))
        self._pg = self._pg_tables()

    def __call__(self, ids: Iterable[UUID], *, trust_cache: bool = False,
                 absent: Iterable[UUID] = ()) -> dict[UUID, Loaded]:
        """`trust_cache`: cached aggregates as they are, with no query; `absent`: ids
        taken for absent unless cached (both only where the save checks the reads)."""
        cached: dict[UUID, Loaded] = {}
        missing: list[UUID] = []
        assumed = set(absent)
        for aggregate_id in set(ids):
            try:
                cached[aggregate_id] = self._cache.get(aggregate_id)
            except KeyError:
                if aggregate_id not in assumed:
                    missing.append(aggregate_id)
        self.hits += len(cached)
        self.misses += len(missing)
        if trust_cache:
            found = dict(cached)
            cached = {}
        else:
            found = {}
        if not cached and not missing:
            return found
        if self._pg is not None:
            # One round trip for all (a send names a cached chat and a new message
            # id: three queries otherwise, each a pool checkout and a wait).
            snapshots, newer, firsts = self._pg_load(cached, missing)
        else:
            newer = self._events_after({i: c.aggregate.version for i, c in cached.items()})
            snapshots = self._snapshots(missing) if missing else {}
            after = {i: (snapshots[i].originator_version if i in snapshots else 0)
                     for i in missing}
            newer.update(self._events_after(after) if missing else {})
            # A message loaded from a snapshot still needs its seq (its first event's
            # position): one more indexed read for those, never their whole stream.
            firsts = self._first_positions([i for i in snapshots if after[i] >= 1])
        for aggregate_id, entry in cached.items():  # fast-forward: what other nodes stored
            events, _ = newer.get(aggregate_id, ([], None))
            if events:
                project_aggregate(entry.aggregate, events)
            found[aggregate_id] = entry
        for aggregate_id in missing:
            events, position = newer.get(aggregate_id, ([], None))
            start = snapshots.get(aggregate_id)
            if start is None and not events:
                continue  # does not exist (misses are not cached: another node may create it)
            aggregate = project_aggregate(None, [start, *events] if start else events)
            if aggregate is None:
                continue
            entry = Loaded(aggregate, position if position is not None
                           else firsts.get(aggregate_id))
            self._cache.put(aggregate_id, entry)
            found[aggregate_id] = entry
        return found

    def remember(self, entries: Iterable[Loaded]) -> None:
        """Aggregates a batch just saved (their versions are now stored)."""
        for entry in entries:
            self._cache.put(entry.aggregate.id, entry)

    def forget(self, ids: Iterable[UUID]) -> None:
        for aggregate_id in ids:
            with suppress(KeyError):
                self._cache.get(aggregate_id, evict=True)

    # -- SQL -------------------------------------------------------------------
    def _pg_tables(self) -> tuple[Any, str, str | None] | None:
        """(datastore, events table, snapshots table) on PostgreSQL, else None."""
        recorder: Any = self._store.recorder
        datastore = recorder.datastore
        if not hasattr(datastore, "schema"):
            return None
        snapshots: Any = self._store.snapshots
        return (datastore, recorder.events_table_name,
                snapshots.recorder.events_table_name if snapshots is not None else None)

    def _pg_load(self, cached: dict[UUID, Loaded], missing: list[UUID]) -> tuple[
            dict[UUID, Any], dict[UUID, tuple[list[Any], int | None]], dict[UUID, int]]:
        """What `__call__` needs, in one query: each missing aggregate's latest snapshot,
        the events after it (after the cached version for a cached one), and the
        position of the first event of those loaded from a snapshot."""
        assert self._pg is not None
        datastore, events_table, snapshots_table = self._pg
        ids = [*cached, *missing]
        versions = [c.aggregate.version for c in cached.values()] + [0] * len(missing)
        loads = [False] * len(cached) + [True] * len(missing)
        rows = _pg_load_rows(datastore, events_table, snapshots_table, ids, versions, loads)
        snapshot_rows = [r[1:] for r in rows if r[0] == 0]
        event_rows = [r[1:] for r in rows if r[0] == 1]
        snapshots = {uid: events[-1] for uid, (events, _) in self._decode(snapshot_rows).items()}
        newer = self._decode(event_rows)
        full = _full_pages(event_rows)  # more than a page of events: the rest page by page
        if full:
            for uid, (events, _) in self._events_after(full).items():
                newer[uid][0].extend(events)
        firsts = {r[1]: int(r[5]) for r in rows if r[0] == 2}
        return snapshots, newer, firsts

    def _decode(self, rows: list[tuple[Any, ...]]) -> dict[UUID, tuple[list[Any], int | None]]:
        """Rows (id, version, topic, state, position) -> events per aggregate, and the
        position of its first event when that was among them."""
        mapper = self._store.mapper
        out: dict[UUID, tuple[list[Any], int | None]] = defaultdict(lambda: ([], None))
        for originator_id, version, topic, state, position in rows:
            uid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
            events, first = out[uid]
            events.append(mapper.to_domain_event(StoredEvent(
                originator_id=uid, originator_version=version, topic=topic, state=bytes(state))))
            out[uid] = (events, int(position) if version == 1 else first)
        return out

    def _events_after(self, versions: dict[UUID, int]) -> dict[UUID, tuple[list[Any], int | None]]:
        recorder: Any = self._store.recorder
        return self._decode(self._rows(recorder, versions, "notification_id"))

    def _first_positions(self, ids: list[UUID]) -> dict[UUID, int]:
        if not ids:
            return {}
        recorder: Any = self._store.recorder
        rows = self._rows(recorder, dict.fromkeys(ids, 0), "notification_id", first=True)
        return {(r[0] if isinstance(r[0], UUID) else UUID(r[0])): int(r[4]) for r in rows}

    def _snapshots(self, ids: list[UUID]) -> dict[UUID, Any]:
        snapshots: Any = self._store.snapshots
        if snapshots is None:
            return {}
        recorder = snapshots.recorder
        latest: dict[UUID, Any] = {}
        for uid, (events, _) in self._decode(
                self._rows(recorder, dict.fromkeys(ids, 0), "0", latest=True)).items():
            latest[uid] = events[-1]
        return latest

    @staticmethod
    def _rows(recorder: Any, versions: dict[UUID, int], position: str,
              latest: bool = False, first: bool = False) -> list[tuple[Any, ...]]:
        """The rows of `recorder`'s table with a version above the one given per id
        (`latest`: only each id's last row; `first`: only its first)."""
        table = recorder.events_table_name
        datastore = recorder.datastore
        columns = ("e.originator_id, e.originator_version, e.topic, e.state, "
                   + ("e." + position if position != "0" else "0"))
        if hasattr(datastore, "schema"):  # PostgreSQL: uuid column
            return _pg_rows(datastore, table, columns, versions, latest, first)
        last = (" AND e.originator_version = (SELECT MAX(t.originator_version) FROM {t} t"
                " WHERE t.originator_id = e.originator_id)") if latest else (
            " AND e.originator_version = 1" if first else "")
        rows: list[tuple[Any, ...]] = []
        if position == "notification_id":
            columns = columns.replace("e.notification_id", "e.rowid")
        with datastore.transaction(commit=False) as c:  # SQLite: hex text
            for with_w, params in versions_table(versions):
                c.execute(
                    f"{with_w} SELECT {columns} FROM {table} e"
                    " JOIN w ON e.originator_id = w.id AND e.originator_version > w.v"
                    + last.format(t=table) + " ORDER BY e.originator_id, e.originator_version",
                    params)
                rows.extend(tuple(r) for r in c.fetchall())
        return rows


def _full_pages(rows: list[tuple[Any, ...]]) -> dict[UUID, int]:
    """Aggregates with PG_PAGE rows (id, version, ...) in `rows`, and the last version
    read of each: where the next page starts."""
    counts: dict[UUID, int] = defaultdict(int)
    last: dict[UUID, int] = {}
    for row in rows:
        counts[row[0]] += 1
        last[row[0]] = row[1]
    return {uid: last[uid] for uid, n in counts.items() if n == PG_PAGE}


def _pg_load_rows(datastore: Any, events: str, snapshots: str | None, ids: list[UUID],
                  versions: list[int], loads: list[bool]) -> list[tuple[Any, ...]]:
    """Rows (kind, id, version, topic, state, position): kind 0 the latest snapshot of
    each id whose `loads` is true, 1 the events after its version or that snapshot's
    (at most PG_PAGE per id), 2 the first event of those that have a snapshot (its
    position only)."""
    schema = datastore.schema
    events_sql = f'"{schema}"."{events}"'
    w = "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::boolean[]) AS w(id, v, load)"
    if snapshots is None:
        sql = (f"WITH w AS ({w}) SELECT 1, e.originator_id, e.originator_version, e.topic,"
               f" e.state, e.notification_id FROM w CROSS JOIN LATERAL (SELECT * FROM"
               f" {events_sql} e WHERE e.originator_id = w.id AND e.originator_version > w.v"
               f" ORDER BY e.originator_version LIMIT {PG_PAGE}) e")
    else:
        sql = (f"WITH w AS ({w}),"
               f" s AS (SELECT w.id, t.originator_version, t.topic, t.state FROM w CROSS JOIN"
               f' LATERAL (SELECT * FROM "{schema}"."{snapshots}" t WHERE w.load AND'
               f" t.originator_id = w.id ORDER BY t.originator_version DESC LIMIT 1) t),"
               f" f AS (SELECT w.id, GREATEST(w.v, COALESCE(s.originator_version, 0)) AS v"
               f" FROM w LEFT JOIN s ON s.id = w.id)"
               f" SELECT 0, s.id, s.originator_version, s.topic, s.state, 0 FROM s"
               f" UNION ALL SELECT 1, e.originator_id, e.originator_version, e.topic, e.state,"
               f" e.notification_id FROM f CROSS JOIN LATERAL (SELECT * FROM {events_sql} e"
               f" WHERE e.originator_id = f.id AND e.originator_version > f.v"
               f" ORDER BY e.originator_version LIMIT {PG_PAGE}) e"
               f" UNION ALL SELECT 2, s.id, 1, '', ''::bytea, e.notification_id FROM s"
               f" JOIN {events_sql} e ON e.originator_id = s.id AND e.originator_version = 1")
    with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(sql, (ids, versions, loads), prepare=True)
        rows = cur.fetchall()
    rows.sort(key=lambda r: (r[0], r[1], r[2]))  # per kind, in each aggregate's order
    return rows


def _pg_rows(datastore: Any, table: str, columns: str, versions: dict[UUID, int],
             latest: bool, first: bool) -> list[tuple[Any, ...]]:
    """`AggregateLoader._rows` on PostgreSQL: one index walk per aggregate."""
    where = "e.originator_version = 1" if first else "e.originator_version > w.v"
    order = "DESC LIMIT 1" if latest else f"LIMIT {PG_PAGE}"
    sql = (f"SELECT {columns} FROM unnest(%s::uuid[], %s::bigint[]) AS w(id, v)"
           f' CROSS JOIN LATERAL (SELECT * FROM "{datastore.schema}"."{table}" e'
           f" WHERE e.originator_id = w.id AND {where}"
           f" ORDER BY e.originator_version {order}) e"
           " ORDER BY e.originator_id, e.originator_version")
    rows: list[tuple[Any, ...]] = []
    pending = dict(versions)
    with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
        while pending:
            ids = list(pending)
            cur.execute(sql, (ids, [pending[i] for i in ids]), prepare=True)
            page = cur.fetchall()
            rows.extend(page)
            if latest or first:
                break
            pending = _full_pages(page)
    if len(rows) > PG_PAGE:  # pages of one aggregate came in separate queries
        rows.sort(key=lambda r: (r[0], r[1]))
    return rows
