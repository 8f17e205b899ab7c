"""A downstream service reads the topic with an aiokafka consumer group and
rebuilds the message count per chat; it matches eschat's own history."""

import asyncio
import json
from collections import Counter
from pathlib import Path

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]

from tests.integration.kafka.broker import TansuBroker, create_topic
from tests.integration.kafka.helpers import (
    TOPIC,
    chat_scenario,
    relay_of,
    running_eschat,
    send_more,
    wait_relayed,
)


async def count_messages_per_chat(bootstrap: str, topic: str, expected_records: int,
                                  timeout: float = 30) -> Counter[str]:
    """What a downstream service would do: consume in a group, skip what it has
    seen (the relay delivers at least once), count Message.Sent per chat."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id="message-counter",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen: set[int] = set()
    counts: Counter[str] = Counter()
    try:
        async with asyncio.timeout(timeout):
            while len(seen) < expected_records:
                batch = await consumer.getmany(timeout_ms=500)
                for messages in batch.values():
                    for message in messages:
                        event = json.loads(message.value)
                        if event["position"] in seen:
                            continue
                        seen.add(event["position"])
                        if dict(message.headers).get("type") == b"Message.Sent":
                            counts[event["chatId"]] += 1
    finally:
        await consumer.stop()
    return counts


async def test_downstream_consumer_rebuilds_message_count_per_chat(
    kafka_broker: TansuBroker, database_url: str, tmp_path: Path
) -> None:
    await create_topic(kafka_broker.bootstrap, TOPIC)
    async with running_eschat(database_url, tmp_path, kafka_bootstrap=kafka_broker.bootstrap,
                              kafka_topic=TOPIC) as eschat:
        sent = await chat_scenario(eschat, chats=4, messages=7)
        await send_more(eschat, {c: ids for c, ids in list(sent.items())[:2]}, messages=3)
        head = await wait_relayed(relay_of(eschat), eschat)
        await eschat.service.sync()
        in_history = {chat_id: len((await eschat.service.history("alice", chat_id,
                                                                 limit=200))[0])
                      for chat_id in sent}

    counts = await count_messages_per_chat(kafka_broker.bootstrap, TOPIC, head)
    assert dict(counts) == in_history == {c: len(ids) for c, ids in sent.items()}
    assert sorted(counts.values()) == [7, 7, 10, 10]
