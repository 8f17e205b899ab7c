"""The Kafka relay: a transactional outbox read from the event store.

It follows the store's notification log from its own tracked position, publishes
each event (key = chat id) with acks=all, and advances the position only after
the broker acknowledged every record of the batch. A crash between the two
resends at worst; an outage only delays. It runs on a thread of its own with its
own asyncio loop (aiokafka is asyncio; the store and psycopg are blocking, so
their calls go to worker threads).

Order per chat: the records of a batch are grouped by partition (aiokafka's
default murmur2 partitioner, as Java clients use) and each partition's records
go as explicit record batches, one after the other, each awaited before the
next. A failed batch therefore never lets a later record of its partition
through, and the retry restarts from the tracked position: a chat's records
reach the topic in store order, with at worst a repeated prefix."""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.errors import KafkaConnectionError, KafkaError  # type: ignore[import-untyped]
from aiokafka.partitioner import DefaultPartitioner  # type: ignore[import-untyped]
from eventsourcing.application import Application

from infrastructure.eventstore import head_position, read_notifications
from infrastructure.kafka.records import ChatResolver, RelayRecord, to_record
from infrastructure.kafka.tracking import LeaderLock, RelayTracking
from infrastructure.readmodels.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayConfig:
    bootstrap: str
    topic: str = "chat-messages"
    name: str = "kafka-relay"
    client_id: str = "eschat-relay"
    batch_size: int = 500
    poll_interval: float = 0.1
    # None: idempotent when the broker supports it (InitProducerId), else plain
    # acks=all. True insists on it; False never asks.
    idempotence: bool | None = None
    request_timeout_ms: int = 10_000
    max_batch_bytes: int = 512 * 1024
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    stop_grace: float = 10.0


class _Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self._initial = initial
        self._maximum = maximum
        self._next = initial

    def reset(self) -> None:
        self._next = self._initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._maximum, self._next * 2)
        return delay


class KafkaRelay:
    """`start()` / `stop()` from any thread; `lag()` never blocks."""

    def __init__(self, store: Application[UUID], db: Database, config: RelayConfig,
                 lock: LeaderLock) -> None:
        self._store = store
        self.config = config
        self._tracking = RelayTracking(db, config.name)
        self._lock = lock
        self._resolver = ChatResolver(store)
        self._partitioner = DefaultPartitioner()
        self._backoff = _Backoff(config.backoff_initial, config.backoff_max)
        self._producer: AIOKafkaProducer | None = None
        self._idempotent: bool | None = config.idempotence
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._wake_event: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._started = threading.Event()
        # Read from other threads: plain ints and strings, replaced atomically.
        self.position = 0
        self.head = 0
        self.state = "stopped"
        self.published = 0
        self.batches = 0
        self.failures = 0
        self.last_error: str | None = None

    # -- control (any thread) ----------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self.state = "starting"
        self._thread = threading.Thread(target=self._thread_main, name="eschat-kafka-relay",
                                        daemon=True)
        self._thread.start()
        self._started.wait(10)

    def stop(self) -> None:
        """Lets the batch in flight finish (so a clean restart resends nothing),
        then stops; after `stop_grace` seconds it abandons an unacknowledged batch."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self.wake()
        thread.join(self.config.stop_grace)
        if thread.is_alive() and self._loop is not None and self._main_task is not None:
            log.warning("kafka relay: broker did not acknowledge in time; abandoning the batch")
            self._loop.call_soon_threadsafe(self._main_task.cancel)
            thread.join(10)
        self._thread = None
        self.state = "stopped"

    def wake(self, _position: int = 0) -> None:
        loop, event = self._loop, self._wake_event
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(event.set)

    def lag(self) -> int:
        """Stored events not yet acknowledged by the broker (head - position)."""
        return max(0, self.head - self.position)

    def stats(self) -> dict[str, Any]:
        return {"state": self.state, "position": self.position, "head": self.head,
                "lag": self.lag(), "published": self.published, "batches": self.batches,
                "failures": self.failures, "idempotent": self._idempotent,
                "last_error": self.last_error}

    # -- the relay thread -------------------------------------------------------
    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._main_task = loop.create_task(self._main())
            loop.run_until_complete(self._main_task)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("kafka relay crashed")
        finally:
            try:
                loop.run_until_complete(self._close_producer())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()
                self._lock.release()
                self._started.set()

    async def _main(self) -> None:
        self._wake_event = asyncio.Event()
        self._started.set()
        await self._retrying(self._tracking.create)
        self.position = await self._retrying(self._tracking.load)
        self.head = await self._retrying(head_position, self._store)
        watcher = asyncio.create_task(self._watch())
        try:
            while not self._stopping.is_set():
                if not await asyncio.to_thread(self._try_lock):
                    if self.state != "standby":
                        log.info("kafka relay: another relay holds the lock; standing by")
                    self.state = "standby"
                    await self._idle(1.0)
                    continue
                try:
                    await self._ensure_producer()
                    count = await self._relay_once()
                    self._backoff.reset()
                    self.state = "running"
                except (KafkaError, OSError, TimeoutError) as e:
                    await self._on_failure("broker unavailable", e, reset_producer=True)
                    continue
                except Exception as e:  # the store or the database, most likely
                    await self._on_failure("relay cycle failed", e, reset_producer=False)
                    continue
                if count < self.config.batch_size:
                    await self._idle(self.config.poll_interval)
        finally:
            watcher.cancel()

    def _try_lock(self) -> bool:
        try:
            return self._lock.try_acquire()
        except Exception as e:
            log.warning("kafka relay: cannot take the relay lock: %s", e)
            return False

    async def _on_failure(self, what: str, error: BaseException, reset_producer: bool) -> None:
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error}"
        self.state = "retrying"
        delay = self._backoff.next()
        log.warning("kafka relay: %s (%s); retrying in %.1fs", what, self.last_error, delay)
        if reset_producer:
            await self._close_producer()
        # The store may have moved the position (another relay): reload it.
        with contextlib.suppress(Exception):
            self.position = await asyncio.to_thread(self._tracking.load)
        await self._idle(delay)

    async def _retrying(self, func: Any, *args: Any) -> Any:
        while True:
            try:
                return await asyncio.to_thread(func, *args)
            except Exception as e:
                if self._stopping.is_set():
                    raise
                log.warning("kafka relay: store not reachable (%s); retrying", e)
                await self._idle(self._backoff.next())

    async def _idle(self, seconds: float) -> None:
        assert self._wake_event is not None
        if self._stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake_event.wait(), seconds)
        self._wake_event.clear()

    async def _watch(self) -> None:
        """Keeps `head` fresh (and `position`, when another relay holds the lock),
        so lag() is right even while a batch waits for the broker."""
        while True:
            await asyncio.sleep(0.5)
            try:
                self.head = await asyncio.to_thread(head_position, self._store)
                if self.state == "standby":
                    self.position = await asyncio.to_thread(self._tracking.load)
            except Exception as e:
                log.debug("kafka relay: head not readable: %s", e)

    # -- producing ---------------------------------------------------------------
    def _new_producer(self, idempotent: bool) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.config.bootstrap,
            client_id=self.config.client_id,
            acks="all",
            enable_idempotence=idempotent,
            request_timeout_ms=self.config.request_timeout_ms,
            max_batch_size=self.config.max_batch_bytes,
            max_request_size=max(1_048_576, self.config.max_batch_bytes),
            linger_ms=0,
        )

    async def _ensure_producer(self) -> None:
        if self._producer is not None:
            return
        want = self._idempotent if self._idempotent is not None else True
        producer = self._new_producer(want)
        try:
            await producer.start()
        except KafkaConnectionError:
            await _quietly_stop(producer)
            raise
        except KafkaError as e:
            await _quietly_stop(producer)
            if not (want and self._idempotent is None):
                raise
            # Brokers without InitProducerId (Tansu 0.6, very old Kafka): acks=all only.
            log.warning("kafka relay: the broker refused an idempotent producer (%s: %s);"
                        " relaying with acks=all without idempotence", type(e).__name__, e)
            self._idempotent = False
            producer = self._new_producer(False)
            try:
                await producer.start()
            except BaseException:
                await _quietly_stop(producer)
                raise
        else:
            if self._idempotent is None:
                self._idempotent = want
        self._producer = producer
        log.info("kafka relay: connected to %s, topic %s (idempotent=%s)",
                 self.config.bootstrap, self.config.topic, self._idempotent)

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await _quietly_stop(producer)

    async def _relay_once(self) -> int:
        start = self.position
        notifications = await asyncio.to_thread(
            read_notifications, self._store, start, self.config.batch_size
        )
        if not notifications:
            return 0
        records = await asyncio.to_thread(self._encode, notifications)
        await self._publish(records)
        last = records[-1].position
        if await asyncio.to_thread(self._tracking.advance, start, last):
            self.position = last
        else:
            # Another relay advanced it: at-least-once still holds; follow it.
            self.position = await asyncio.to_thread(self._tracking.load)
            log.warning("kafka relay: position moved by another relay; now %d", self.position)
        self.published += len(records)
        self.batches += 1
        self.head = max(self.head, last)
        return len(records)

    def _encode(self, notifications: Sequence[Any]) -> list[RelayRecord]:
        return [to_record(self._store, self._resolver, n) for n in notifications]

    async def _publish(self, records: list[RelayRecord]) -> None:
        producer = self._producer
        assert producer is not None
        topic = self.config.topic
        partitions = sorted(await producer.partitions_for(topic))
        groups: dict[int, list[RelayRecord]] = {}
        for record in records:
            partition = self._partitioner(record.key, partitions, partitions)
            groups.setdefault(partition, []).append(record)
        results = await asyncio.gather(
            *(self._publish_partition(producer, topic, p, rs) for p, rs in groups.items()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    @staticmethod
    async def _publish_partition(producer: AIOKafkaProducer, topic: str, partition: int,
                                 records: list[RelayRecord]) -> None:
        """One record batch at a time, each acknowledged before the next."""
        batch = producer.create_batch()
        for record in records:
            appended = batch.append(key=record.key, value=record.value,
                                    timestamp=record.timestamp_ms, headers=record.headers)
            if appended is None:  # full: send it, then start the next one
                await (await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                batch.append(key=record.key, value=record.value,
                             timestamp=record.timestamp_ms, headers=record.headers)
        await (await producer.send_batch(batch, topic, partition=partition))


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), 5)
    except Exception as e:  # includes the timeout of a flush to an absent broker
        log.debug("kafka relay: producer stop: %s", e)
