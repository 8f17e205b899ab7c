"""Kafka away while messages are sent: nothing is lost, and a clean restart of
the relay resends nothing the broker already acknowledged."""

import asyncio
from pathlib import Path

from infrastructure.eventstore import head_position
from tests.integration.kafka.broker import TansuBroker, create_topic, read_topic
from tests.integration.kafka.helpers import (
    FAST_RELAY,
    TOPIC,
    assert_store_order_per_chat,
    chat_scenario,
    relay_of,
    running_eschat,
    send_more,
    wait_relayed,
)


async def test_broker_stopped_while_messages_are_sent_then_restarted_every_event_arrives(
    kafka_broker: TansuBroker, database_url: str, tmp_path: Path
) -> None:
    bootstrap = kafka_broker.bootstrap
    await create_topic(bootstrap, TOPIC)
    kafka = {"kafka_bootstrap": bootstrap, "kafka_topic": TOPIC, "relay_options": FAST_RELAY}
    async with running_eschat(database_url, tmp_path, **kafka) as eschat:
        relay = relay_of(eschat)
        sent = await chat_scenario(eschat, chats=3, messages=5)
        before_outage = await wait_relayed(relay, eschat)
        first = await read_topic(bootstrap, TOPIC, until=lambda rs: len(rs) >= before_outage)
        assert sorted(r.position for r in first) == list(range(1, before_outage + 1))

        kafka_broker.stop()
        # eschat keeps accepting messages; the relay holds them back and says so
        await send_more(eschat, sent, messages=10)
        stored = await asyncio.to_thread(head_position, eschat.store)
        assert stored > before_outage
        for _ in range(200):
            if relay.lag() == stored - before_outage and relay.failures > 0:
                break
            await asyncio.sleep(0.05)
        assert relay.lag() == stored - before_outage, relay.stats()
        assert relay.failures > 0 and relay.position == before_outage

        # Tansu keeps topics in memory: the restarted broker starts empty, so
        # what it holds afterwards is exactly what the relay sent after the outage.
        kafka_broker.start()
        await create_topic(bootstrap, TOPIC)
        await send_more(eschat, sent, messages=2)  # and more while it catches up
        during = await wait_relayed(relay, eschat, timeout=60)
        assert relay.lag() == 0 or relay.head > during

    # A clean restart of the relay (eschat stopped and started again).
    async with running_eschat(database_url, tmp_path, **kafka) as eschat:
        await send_more(eschat, sent, messages=3)
        head = await wait_relayed(relay_of(eschat), eschat)

    records = await read_topic(bootstrap, TOPIC, until=lambda rs: len(rs) >= head - before_outage)
    positions = sorted(r.position for r in records)
    # every event stored after the outage began arrives, and none twice
    assert positions == list(range(before_outage + 1, head + 1))
    assert_store_order_per_chat(records)
