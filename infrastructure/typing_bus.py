"""Typing indicators: ephemeral domain events, never a durable row per keystroke.

Each is recorded in an in-memory event store (eventsourcing's POPO recorder) and
handed to the local gateway; with PostgreSQL, a NOTIFY carries it to the other
nodes, which LISTEN."""

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError

from domain.typing_state import Typing
from infrastructure.eventstore import EphemeralEventStore, open_ephemeral_store

log = logging.getLogger(__name__)

TypingCallback = Callable[[str, str, bool], None]
CHANNEL = "eschat_typing"


class TypingBus:
    """Single node: typing events reach this process's gateway only."""

    def __init__(self) -> None:
        self.store: EphemeralEventStore = open_ephemeral_store()
        self._callbacks: list[TypingCallback] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: TypingCallback) -> None:
        """`callback(chat_id, user_id, started)` runs on the caller's event loop."""
        self._callbacks.append(callback)

    def _record(self, chat_id: str, user_id: str, started: bool) -> None:
        with self._lock:
            aggregate_id = Typing.create_id(UUID(chat_id), user_id)
            try:
                typing: Typing = self.store.repository.get(aggregate_id)
                typing.start() if started else typing.stop()
            except AggregateNotFoundError:
                if not started:
                    return
                typing = Typing(chat_id=UUID(chat_id), user_id=user_id)
            self.store.save(typing)

    def _deliver(self, chat_id: str, user_id: str, started: bool) -> None:
        for callback in self._callbacks:
            callback(chat_id, user_id, started)

    async def publish(self, chat_id: str, user_id: str, started: bool) -> None:
        self._record(chat_id, user_id, started)
        self._deliver(chat_id, user_id, started)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        pass

    def stop(self) -> None:
        pass


class PostgresTypingBus(TypingBus):
    """Several nodes: NOTIFY on publish, LISTEN for the other nodes' events."""

    def __init__(self, conninfo: str, node_id: str) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._node_id = node_id
        self._stopped = threading.Event()
        self._notify_conn: psycopg.Connection[Any] | None = None
        self._notify_lock = threading.Lock()

    def _notify(self, payload: str) -> None:
        with self._notify_lock:
            if self._notify_conn is None or self._notify_conn.closed:
                self._notify_conn = psycopg.connect(self._conninfo, autocommit=True)
            self._notify_conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def publish(self, chat_id: str, user_id: str, started: bool) -> None:
        await super().publish(chat_id, user_id, started)
        payload = json.dumps({"node": self._node_id, "chat": chat_id, "user": user_id,
                              "started": started})
        try:
            await asyncio.to_thread(self._notify, payload)
        except psycopg.Error:
            log.warning("typing notification not sent to other nodes")

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        threading.Thread(target=self._listen, args=(loop,), name="eschat-typing",
                         daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stopped.is_set():
                        for note in conn.notifies(timeout=1.0, stop_after=1):
                            event = json.loads(note.payload)
                            if event.get("node") != self._node_id:
                                loop.call_soon_threadsafe(
                                    self._deliver, event["chat"], event["user"], event["started"]
                                )
            except Exception:
                log.warning("typing LISTEN connection lost; retrying")
                self._stopped.wait(1.0)
