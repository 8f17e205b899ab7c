"""The PostgreSQL event recorder: eventsourcing's, with a cheaper insert.

The library inserts a batch in a pipelined transaction: BEGIN, the table lock, NOTIFY
and the insert, a sync for the notification ids, then COMMIT, each step a trip
through psycopg's pipeline in Python, and the batch sent as one array of a composite
type that psycopg escapes byte by byte in Python. Here one statement does it all:
`SELECT` of a function (created with the table) that takes the table lock, checks that
nothing the batch read has moved (`expect`, application/writer.py), NOTIFYs (unless the
node serves alone: infrastructure/peers.py) and inserts
the rows from four binary arrays, one per column, zipped back by `unnest`. On the
autocommit connection that statement is its own transaction, so the commit comes with
its answer: one round trip per batch. The rows, their order, the lock, NOTIFY and
RETURNING are the library's.

Measured (issue 13, one send at a time on PostgreSQL): the save took 1.38 ms at p50
with the library's pipeline, 1.00 ms this way (bench/RESULTS.md)."""

import os
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier, Literal

from infrastructure.peers import Peers

# The payload of this process's NOTIFYs (the store's and the projections'), so a
# listener can tell its own from other nodes' (infrastructure/projection_runner.py: a
# runner's own projection cycle does not wake it again).
COMMITTER = f"{os.getpid()}-{uuid4().hex}"


class ColumnsPostgresRecorder(PostgresApplicationRecorder):
    checks_reads = True  # insert_events(expect=...): see application/writer.py
    # Set by the composition root of a serving node: while it says this node is alone,
    # inserts NOTIFY nobody. Unset (the CLI, tests), every insert NOTIFYs.
    peers: Peers | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = Identifier(self.datastore.schema)
        function = Identifier(f"{self.events_table_name}_insert")
        id_type = Identifier(self.datastore.originator_id_type)
        # Created with the table (under the nodes' schema lock) and replaced at every
        # start, so a store of an earlier release gets it too.
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(ids {id_type}[], versions int8[],"
            " topics text[], states bytea[], committer text, read_ids {id_type}[],"
            " read_versions int8[]) RETURNS SETOF bigint"
            " LANGUAGE plpgsql AS $BODY$ BEGIN"
            " SET LOCAL lock_timeout = {lock_timeout};"
            # Serializes inserts: notification ids commit in the order they were issued,
            # so no reader passes over a gap that fills in later (the library's reason).
            " LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;"
            # What the batch decided on is still what is stored: under the lock, nothing
            # can change it before the commit.
            " IF EXISTS (SELECT 1 FROM unnest(read_ids, read_versions) AS r(id, v) WHERE"
            " EXISTS (SELECT 1 FROM {schema}.{table} e WHERE e.originator_id = r.id"
            " AND e.originator_version > r.v)) THEN"
            " RAISE unique_violation USING MESSAGE = 'stale read: an aggregate the batch"
            " read has changed since';"
            " END IF;"
            # A null committer: nobody else follows this node's commits (peers.py).
            " IF committer IS NOT NULL THEN PERFORM pg_notify({channel}, committer); END IF;"
            " RETURN QUERY INSERT INTO {schema}.{table}"
            " (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id;"
            " END; $BODY$"
        ).format(
            schema=schema, function=function, id_type=id_type,
            table=Identifier(self.events_table_name),
            lock_timeout=Literal(f"{self.datastore.lock_timeout}s"),
            channel=Literal(self.channel_name),
        ))
        self._insert_call = SQL(
            "SELECT n FROM {schema}.{function}(%b::{id_type}[], %b::int8[], %b::text[],"
            " %b::bytea[], %s, %b::{id_type}[], %b::int8[]) AS r(n)"
        ).format(schema=schema, function=function, id_type=id_type)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], *,
                      expect: Mapping[UUID, int] | None = None,
                      **kwargs: Any) -> Sequence[int] | None:
        """`expect`: the version of each aggregate the batch read (0: absent). If any
        has moved, nothing is stored and IntegrityError is raised, as for a conflict."""
        if not stored_events:
            return None
        expect = expect or {}
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(self._insert_call, (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
                None if self.peers is not None and self.peers.alone() else COMMITTER,
                list(expect),
                list(expect.values()),
            ), prepare=True)
            ids = [row["n"] for row in cursor.fetchall()]
            if not conn.autocommit:  # the library's connections are; this one was changed
                conn.commit()
            return ids
