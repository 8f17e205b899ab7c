"""What a rebuild costs with no Python per event: the floors under `bench/rebuild_speed.py`.

    python bench/rebuild_floor.py --database-url URL   (a store rebuild_speed.py seeded, --keep)

Two parts of a rebuild measured alone, on the store's live read models (which a
rebuild left as a rebuild makes them):
- write: every read-model table copied into an empty one of the same shape by the
  database itself (`INSERT INTO t__f SELECT * FROM t`, one transaction per table, the
  rebuild's pragmas on SQLite), its deferred indexes built after, then the copies
  dropped (as a switch drops the old generation). No Python per row: this is what the
  database needs to write the rows a rebuild writes, at best.
- read: the whole log read, decoded, sealed contents opened and typed (what
  `ReadAhead` does), on one thread.
A rebuild cannot be faster than the larger of the two (SQLite has one writer per file;
the read can run beside it on the other core). Prints one JSON object per part.
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rebuild_speed import container_for  # noqa: E402
from infrastructure.database_url import SqliteLocation, parse_database_url  # noqa: E402
from infrastructure.eventstore import head_position  # noqa: E402
from infrastructure.readmodels.common import _INDEX_ON, FEED_DDL, FEED_INDEXES  # noqa: E402
from infrastructure.rebuild import REBUILD_BATCH, RenamedTx  # noqa: E402
from infrastructure.stored_events import read_changes, typed  # noqa: E402
from interfaces.server import projections  # noqa: E402

SUFFIX = "__r1"  # a rebuild's names, so the DDL renames as a rebuild's does


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def write_floor(container: object) -> dict[str, object]:
    db = container.db  # type: ignore[attr-defined]
    views = projections()
    tables = [t for p in views for t in p.tables] + ["rm_feed"]
    ddl = FEED_DDL + [s for p in views for s in p.ddl]
    deferred = FEED_INDEXES + [s for p in views for s in p.indexes]
    wall, cpu = time.perf_counter(), _cpu()
    phases: dict[str, float] = {}
    with db.recomputable():
        started = time.perf_counter()
        with db.transaction() as raw:
            tx = RenamedTx(raw, SUFFIX)
            for table in tables:
                tx.execute(f"DROP TABLE IF EXISTS {table}")  # renamed: the copies only
            for statement in ddl:
                tx.execute(statement)
        for table in tables:
            with db.transaction() as raw:
                raw.execute(f"INSERT INTO {table}{SUFFIX} SELECT * FROM {table}")
        phases["copy"] = time.perf_counter() - started
        started = time.perf_counter()
        with db.transaction() as raw:
            tx = RenamedTx(raw, SUFFIX)
            for statement in deferred:
                if _INDEX_ON.match(statement):
                    tx.execute(statement)
        phases["indexes"] = time.perf_counter() - started
    started = time.perf_counter()
    for table in tables:
        with db.transaction() as raw:
            raw.execute(f"DROP TABLE {table}{SUFFIX}")
    phases["drop"] = time.perf_counter() - started
    with db.transaction(readonly=True) as tx:
        rows = sum(int(tx.fetchone(f"SELECT COUNT(*) FROM {t}")[0]) for t in tables)
    return {"part": "write", "rows": rows, "seconds": round(time.perf_counter() - wall, 2),
            "cpu_s": round(_cpu() - cpu, 2),
            **{k: round(v, 2) for k, v in phases.items()}}


def read_floor(container: object) -> dict[str, object]:
    store = container.store  # type: ignore[attr-defined]
    wall, cpu = time.perf_counter(), _cpu()
    position, events = 0, 0
    batch = REBUILD_BATCH[container.db.dialect]  # type: ignore[attr-defined]
    while changes := read_changes(store, position, batch):
        typed(changes)
        events += len(changes)
        position = changes[-1].position
    seconds = time.perf_counter() - wall
    return {"part": "read", "events": events, "seconds": round(seconds, 2),
            "cpu_s": round(_cpu() - cpu, 2), "events_per_s": round(events / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--part", choices=["write", "read", "both"], default="both")
    args = parser.parse_args()
    location = parse_database_url(args.database_url)
    data_dir = str(location.events_path.parent if isinstance(location, SqliteLocation)
                   else Path("./data/bench"))
    container = container_for(args.database_url, data_dir)
    try:
        print(f"store: {head_position(container.store)} events", file=sys.stderr)
        for part in (["write", "read"] if args.part == "both" else [args.part]):
            result = write_floor(container) if part == "write" else read_floor(container)
            result["load"] = os.getloadavg()[0]
            print(json.dumps(result), flush=True)
    finally:
        container.close()


if __name__ == "__main__":
    main()
