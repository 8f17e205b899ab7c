"""`eschat relay` killed (SIGKILL) after the broker acknowledged a batch but
before the relay recorded it: the batch is sent again — duplicates, never a loss."""

import asyncio
import signal
import subprocess
from collections import Counter
from pathlib import Path

from infrastructure.eventstore import head_position
from tests.integration.kafka.broker import TansuBroker, create_topic, read_topic
from tests.integration.kafka.helpers import (
    TOPIC,
    assert_store_order_per_chat,
    chat_scenario,
    running_eschat,
    send_more,
)
from tests.integration.kafka.relay_process import (
    position_update_held,
    start_relay,
    tracked_position,
)


async def wait_tracked(database_url: str, position: int, proc: "subprocess.Popen[bytes]",
                       log: Path, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if (await asyncio.to_thread(tracked_position, database_url) or 0) >= position:
            return
        assert proc.poll() is None, log.read_text()
        await asyncio.sleep(0.05)
    raise AssertionError(f"relay did not reach {position}:\n{log.read_text()}")


async def test_relay_killed_between_publish_and_position_update_duplicates_never_loses(
    kafka_broker: TansuBroker, database_url: str, tmp_path: Path
) -> None:
    bootstrap = kafka_broker.bootstrap
    await create_topic(bootstrap, TOPIC)
    relay_dir = tmp_path / "relay"
    async with running_eschat(database_url, tmp_path) as eschat:  # no Kafka in this process
        sent = await chat_scenario(eschat, chats=2, messages=5)
        relay = start_relay(database_url, relay_dir, bootstrap, TOPIC)
        try:
            acknowledged = await asyncio.to_thread(head_position, eschat.store)
            await wait_tracked(database_url, acknowledged, relay, relay_dir / "relay.log")

            with position_update_held(database_url):
                await send_more(eschat, sent, messages=5)
                # the relay publishes the new events and the broker acknowledges them...
                published = await read_topic(
                    bootstrap, TOPIC, until=lambda rs: any(r.position > acknowledged for r in rs),
                    idle=0.2)
                assert max(r.position for r in published) > acknowledged
                # ...but its position update waits: kill it right there
                relay.send_signal(signal.SIGKILL)
                relay.wait(10)
            assert await asyncio.to_thread(tracked_position, database_url) == acknowledged

            relay = start_relay(database_url, relay_dir, bootstrap, TOPIC)
            head = await asyncio.to_thread(head_position, eschat.store)
            await wait_tracked(database_url, head, relay, relay_dir / "relay.log")
        finally:
            relay.send_signal(signal.SIGTERM)
            assert relay.wait(20) == 0

    records = await read_topic(bootstrap, TOPIC, until=lambda rs: len(rs) >= head)
    counts = Counter(r.position for r in records)
    assert sorted(counts) == list(range(1, head + 1))  # nothing lost
    assert any(counts[p] > 1 for p in range(acknowledged + 1, head + 1))  # resent, as allowed
    assert all(counts[p] == 1 for p in range(1, acknowledged + 1))  # recorded: never resent
    assert_store_order_per_chat(records)
