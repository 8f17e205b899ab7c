"""The store's insert against node + INSERT's, one statement at a time (issue 13).

    .venv/bin/python bench/insert_shapes.py [--database-url URL] [--count 2000] [--rounds 2]

Resets the database (default: the bench's own, eschat_bench), creates a store there and
a table shaped like the node peer's, then times, one every 2 ms as a lone send comes at
100 msg/s:
- the store's insert of one sealed `Sent` event (`insert_events`, as a node serving
  alone calls it: one call of the store's function, which takes the table lock, checks
  the reads and inserts, in autocommit);
- node + `INSERT`'s statement: a one-row `INSERT ... RETURNING` into its own table.
Prints p50 / p90 / p99 in µs for each, round after round (bench/RESULTS.md, "The last
pass on issue 13")."""

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import psycopg
from eventsourcing.persistence import StoredEvent

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import DEFAULT_PG  # noqa: E402
from bench.servers import BenchError, reset_postgres  # noqa: E402
from domain.chat import Chat  # noqa: E402
from domain.message import Message  # noqa: E402
from infrastructure.peers import Peers  # noqa: E402
from tests.integration.core.conftest import make_container  # noqa: E402

PACE_S = 0.002


def timed(call: Callable[[], object], count: int) -> str:
    took: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1e6)
        time.sleep(PACE_S)
    took.sort()
    return " / ".join(f"{took[int(count * q)]:,.0f}" for q in (0.5, 0.9, 0.99))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=DEFAULT_PG)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    try:
        reset_postgres(args.database_url)
    except BenchError as e:
        sys.exit(f"insert-shapes: {e}")
    container = make_container(args.database_url, Path(tempfile.mkdtemp()))
    try:
        store = container.store
        chat = Chat.start("shapes", ["bob"], "alice")
        store.save(chat)
        template = store.mapper.to_stored_event(Message(
            chat_id=chat.id, sender_id="alice", content="x" * 100,
            client_message_id=None).collect_events()[0])
        recorder = store.recorder
        # As a node serving alone inserts: no NOTIFY (infrastructure/peers.py).
        recorder.peers = Peers()
        recorder.peers.leases_checked(others=False)

        def store_insert() -> None:
            # `expect` names an aggregate the batch "read" as absent, as a send does for
            # its new message: the function's read check runs as it does for a send.
            recorder.insert_events([StoredEvent(
                originator_id=uuid4(), originator_version=1, topic=template.topic,
                state=template.state)], expect={uuid4(): 0})

        with psycopg.connect(args.database_url, autocommit=True) as conn:
            # The node peer's table (bench/peers/node/server.mjs) and its statement.
            conn.execute("CREATE TABLE shapes_node_messages (seq bigserial PRIMARY KEY,"
                         " id uuid NOT NULL, chat_id text NOT NULL, sender_id text NOT NULL,"
                         " content text NOT NULL, client_message_id text,"
                         " created_at timestamptz NOT NULL)")
            conn.execute("CREATE INDEX ON shapes_node_messages (chat_id, seq)")

            def node_insert() -> None:
                conn.execute("INSERT INTO shapes_node_messages (id, chat_id, sender_id,"
                             " content, client_message_id, created_at)"
                             " VALUES (%s, %s, %s, %s, %s, now()) RETURNING seq",
                             (uuid4(), str(chat.id), "alice", "x" * 100, None),
                             prepare=True).fetchall()

            print(f"one every {PACE_S * 1000:g} ms, {args.count} each: p50 / p90 / p99 µs")
            for round_ in range(1, args.rounds + 1):
                print(f"round {round_}: the store's insert {timed(store_insert, args.count)};"
                      f" node + INSERT's {timed(node_insert, args.count)}")
    finally:
        container.close()


if __name__ == "__main__":
    main()
