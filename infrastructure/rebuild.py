"""Rebuild without downtime: new read models are built beside the live ones while
every node keeps serving, then swapped in atomically.

A rebuild writes into tables named like the live ones plus a suffix (`rm_messages`
-> `rm_messages__r17`), with its position in the row `rm_rebuild` (never in
`rm_tracking`, which the live runner follows). Each batch and that position commit
in one transaction, so a stopped rebuild resumes where it stood. Near the head it
creates its deferred indexes (PostgreSQL), then switches in ONE transaction that first locks the
live tracking rows (the live runner's cycle locks them first too, on every node, so
no live batch runs across the switch): it applies the last events up to the head,
drops the live tables, renames the new ones and their indexes to the live names
(SQLite, which cannot rename an index, builds them there) and sets the live
positions to the rebuild's. Queries see the old tables until the commit and the new
ones after it (both databases have transactional DDL); the live fan-out continues
from the position each node had fanned out, reading the new feed, so no event is
lost or sent twice.

On SQLite a batch holds the read-model file's write lock (live projection cycles
wait for it; queries do not)."""

import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import Application

from infrastructure.advisory_locks import rebuild_lock
from infrastructure.eventstore import head_position
from infrastructure.readmodels.common import (
    FEED_DDL,
    FEED_INDEXES,
    Projection,
    existing_tables,
    give_indexes_live_names,
    indexes_on,
)
from infrastructure.readmodels.database import Database, Row
from infrastructure.stored_events import read_changes

# Events per transaction: big batches, few commits. On SQLite a batch holds the
# read-model file's write lock, which the serving node's projections wait for (about
# 1 s at 20,000). On PostgreSQL it locks only the new tables, and bigger batches write
# each chat's and member's rows fewer times: a 1M-event rebuild took 36 s at 100,000
# against 43 s at 20,000 (bench/RESULTS.md).
REBUILD_BATCH = {"sqlite": 20_000, "postgres": 100_000}
# Events still to apply when the deferred indexes are built, and at most what the
# switch applies under its lock, which every node's live projections wait for.
NEAR_HEAD = 20_000
FEED_TABLE = "rm_feed"
# Live tables a switch put aside, dropped once it committed (SQLite): rm_feed__old17.
RETIRED = "__old"
_RETIRED = re.compile(rf"{RETIRED}\d+$")
# Every read-model name but the live positions and the rebuild's own rows.
_NAME = re.compile(r"\brm_(?!tracking\b|rebuild)\w+")

# progress(done, total): events applied so far against the head of the log.
Progress = Callable[[int, int], None]


class RebuildState(msgspec.Struct):
    """The rebuild under way, as `rm_rebuild` keeps it."""

    id: int
    projections: list[str]
    position: int
    head: int
    started_at: str
    updated_at: str

    @property
    def suffix(self) -> str:
        return f"__r{self.id}"


class RebuildResult(msgspec.Struct):
    state: RebuildState
    events: int  # applied by this run
    switched: bool
    switched_at: str = ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RenamedTx:
    """The transaction a projection writes through while it is rebuilt: every
    read-model table (and index) name gets the rebuild's suffix."""

    def __init__(self, tx: Any, suffix: str) -> None:
        self._tx = tx
        self._suffix = suffix
        self._cache: dict[str, str] = {}

    def sql(self, sql: str) -> str:
        renamed = self._cache.get(sql)
        if renamed is None:
            renamed = _NAME.sub(lambda m: m.group(0) + self._suffix, sql)
            self._cache[sql] = renamed
        return renamed

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._tx.execute(self.sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._tx.executemany(self.sql(sql), rows)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._tx.insert(self.sql(table), columns, rows)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = self._tx.fetchall(self.sql(sql), params)
        return rows

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._tx.fetchone(self.sql(sql), params)
        return row

    @property
    def rowcount(self) -> int:
        return int(self._tx.rowcount)


def read_state(tx: Any) -> RebuildState | None:
    row = tx.fetchone("SELECT id, projections, position, head, started_at, updated_at"
                      " FROM rm_rebuild")
    if row is None:
        return None
    return RebuildState(id=int(row[0]), projections=row[1].split(","), position=int(row[2]),
                        head=int(row[3]), started_at=row[4], updated_at=row[5])


def rebuild_under_way(db: Database) -> RebuildState | None:
    with db.transaction(readonly=True) as tx:
        return read_state(tx)


class Rebuild:
    """One rebuild of `names` (resumed if one of the same projections is under way)."""

    def __init__(self, store: Application[UUID], db: Database, projections: list[Projection],
                 *, batch_size: int | None = None, progress: Progress | None = None,
                 stop: threading.Event | None = None) -> None:
        self._store = store
        self._db = db
        self._all = projections
        self._batch = batch_size or REBUILD_BATCH[db.dialect]
        self._progress = progress or (lambda done, total: None)
        self._stop = stop or threading.Event()

    # -- the steps ---------------------------------------------------------------
    def run(self, names: list[str] | None, restart: bool = False) -> RebuildResult:
        """Raises RebuildBusy if another rebuild of this store is running."""
        with rebuild_lock(self._db):
            return self._run(names, restart)

    def _run(self, names: list[str] | None, restart: bool) -> RebuildResult:
        chosen = [p for p in self._all if names is None or p.name in names]
        state = self._begin([p.name for p in chosen], restart)
        events = 0
        indexed = False
        with self._db.recomputable():
            while not self._stop.is_set():
                head = head_position(self._store)
                if not indexed and head - state.position <= NEAR_HEAD:
                    # SQLite cannot rename an index: the switch builds the deferred
                    # ones under their live names instead.
                    if self._db.dialect != "sqlite":
                        self._create(state, chosen, indexes=True)
                    indexed = True
                self._progress(state.position, head)
                if indexed and head - state.position <= min(self._batch, NEAR_HEAD):
                    break
                applied = self._batch_into(state, chosen)
                events += applied
                if applied == 0 and indexed:
                    break
        if self._stop.is_set():
            return RebuildResult(state=state, events=events, switched=False)
        events += self._switch(state, chosen)
        self._progress(state.position, state.position)
        return RebuildResult(state=state, events=events, switched=True,
                             switched_at=state.updated_at)

    def _begin(self, names: list[str], restart: bool) -> RebuildState:
        with self._db.transaction() as tx:
            state = read_state(tx)
            if state is not None and (restart or state.projections != names):
                self._drop(tx, state)
                state = None
            if state is None:
                now = _now()
                state = RebuildState(id=int(time.time() * 1000), projections=names, position=0,
                                     head=head_position(self._store), started_at=now,
                                     updated_at=now)
                tx.execute("INSERT INTO rm_rebuild (id, projections, position, head, started_at,"
                           " updated_at) VALUES (%s, %s, %s, %s, %s, %s)",
                           (state.id, ",".join(names), 0, state.head, now, now))
        self._drop_retired()  # what a switch that stopped right after its commit left
        chosen = [p for p in self._all if p.name in names]
        self._create(state, chosen, indexes=False)
        return state

    def _create(self, state: RebuildState, chosen: list[Projection], indexes: bool) -> None:
        with self._db.transaction() as raw:
            tx = RenamedTx(raw, state.suffix)
            statements = list(FEED_INDEXES if indexes else FEED_DDL)
            for projection in chosen:
                statements += projection.indexes if indexes else projection.ddl
            for statement in statements:
                tx.execute(statement)

    def _apply(self, raw: Any, state: RebuildState, chosen: list[Projection],
               limit: int) -> int:
        changes = read_changes(self._store, state.position, limit)
        if not changes:
            return 0
        tx = RenamedTx(raw, state.suffix)
        for projection in chosen:
            projection.apply(tx, changes)
        state.position = changes[-1].position
        state.updated_at = _now()
        raw.execute("UPDATE rm_rebuild SET position = %s, updated_at = %s WHERE id = %s",
                    (state.position, state.updated_at, state.id))
        return len(changes)

    def _batch_into(self, state: RebuildState, chosen: list[Projection]) -> int:
        with self._db.transaction() as raw:  # the batch and the position: one commit
            return self._apply(raw, state, chosen, self._batch)

    def _switch(self, state: RebuildState, chosen: list[Projection]) -> int:
        names = [p.name for p in chosen]
        marks = ", ".join(["%s"] * len(names))
        everything = len(chosen) == len(self._all)
        events = 0
        with self._db.transaction() as tx:
            # The live runner's cycle takes these row locks first: from here until the
            # commit no node applies a live batch.
            live = dict(tx.fetchall(f"SELECT name, position FROM rm_tracking WHERE name IN"
                                    f" ({marks}) ORDER BY name FOR UPDATE", names))
            while applied := self._apply(tx, state, chosen, self._batch):
                events += applied
            assert all(int(p) <= state.position for p in live.values()), (live, state.position)
            tables = [t for p in chosen for t in p.tables]
            statements = [s for p in chosen for s in p.ddl + p.indexes]
            replaced = tables + [FEED_TABLE] if everything else tables
            self._retire(tx, state, replaced)
            for table in tables:
                tx.execute(f"ALTER TABLE {table}{state.suffix} RENAME TO {table}")
            new_feed = FEED_TABLE + state.suffix
            if everything:
                tx.execute(f"ALTER TABLE {new_feed} RENAME TO {FEED_TABLE}")
                tables.append(FEED_TABLE)
                statements += FEED_INDEXES
            else:
                tx.execute(f"DELETE FROM {FEED_TABLE} WHERE source IN ({marks})", names)
                tx.execute(f"INSERT INTO {FEED_TABLE} SELECT * FROM {new_feed}")
                tx.execute(f"DROP TABLE {new_feed}")
            give_indexes_live_names(tx, self._db.dialect, tables, statements)
            tx.execute(f"UPDATE rm_tracking SET position = %s WHERE name IN ({marks})",
                       (state.position, *names))
            tx.execute("DELETE FROM rm_rebuild WHERE id = %s", (state.id,))
            state.updated_at = _now()
            tx.execute("INSERT INTO rm_rebuild_log (id, projections, position, started_at,"
                       " switched_at) VALUES (%s, %s, %s, %s, %s)",
                       (state.id, ",".join(names), state.position, state.started_at,
                        state.updated_at))
        self._drop_retired()
        return events

    def _retire(self, tx: Any, state: RebuildState, tables: list[str]) -> None:
        """Takes the live tables out of the way of the new ones. PostgreSQL drops them
        (a file unlinked at commit). SQLite frees a dropped table page by page, so it
        renames them aside (dropping only their indexes, whose names the new tables
        take) and `_drop_retired` drops them after the switch committed: the switch,
        which every live node waits for, stays short."""
        existing = existing_tables(tx, self._db.dialect)
        if self._db.dialect != "sqlite":
            for table in tables:
                tx.execute(f"DROP TABLE IF EXISTS {table}")
            return
        for index in sorted(indexes_on(tx, self._db.dialect, tables)):
            tx.execute(f'DROP INDEX "{index}"')
        for table in tables:
            if table in existing:
                tx.execute(f"ALTER TABLE {table} RENAME TO {table}{RETIRED}{state.id}")

    def _drop_retired(self) -> None:
        """Drops live tables that a switch put aside (SQLite), one transaction each."""
        with self._db.transaction(readonly=True) as tx:
            retired = sorted(t for t in existing_tables(tx, self._db.dialect)
                             if _RETIRED.search(t))
        for table in retired:
            with self._db.transaction() as tx:
                tx.execute(f"DROP TABLE IF EXISTS {table}")

    def _drop(self, tx: Any, state: RebuildState) -> None:
        """Abandons a rebuild under way: its tables go, the live ones stay."""
        for projection in self._all:
            if projection.name in state.projections:
                for table in projection.tables:
                    tx.execute(f"DROP TABLE IF EXISTS {table}{state.suffix}")
        tx.execute(f"DROP TABLE IF EXISTS {FEED_TABLE}{state.suffix}")
        tx.execute("DELETE FROM rm_rebuild WHERE id = %s", (state.id,))


def last_switch(db: Database) -> tuple[str, int, str] | None:
    """(projections, position, switched_at) of the last rebuild that switched."""
    with db.transaction(readonly=True) as tx:
        row = tx.fetchone("SELECT projections, position, switched_at FROM rm_rebuild_log"
                          " ORDER BY switched_at DESC, id DESC LIMIT 1")
    return (row[0], int(row[1]), row[2]) if row else None
