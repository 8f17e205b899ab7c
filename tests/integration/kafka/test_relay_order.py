"""Events sent through eschat arrive on the topic, once each, in store order per chat."""

from pathlib import Path

from infrastructure.eventstore import read_notifications
from tests.integration.kafka.broker import TansuBroker, create_topic, read_topic
from tests.integration.kafka.helpers import (
    TOPIC,
    by_chat,
    chat_scenario,
    relay_of,
    running_eschat,
    wait_relayed,
)


async def test_every_stored_event_arrives_once_in_store_order_per_chat(
    kafka_broker: TansuBroker, database_url: str, tmp_path: Path
) -> None:
    await create_topic(kafka_broker.bootstrap, TOPIC, partitions=3)
    async with running_eschat(database_url, tmp_path, kafka_bootstrap=kafka_broker.bootstrap,
                              kafka_topic=TOPIC) as eschat:
        sent = await chat_scenario(eschat, chats=4, messages=15)
        relay = relay_of(eschat)
        head = await wait_relayed(relay, eschat)
        assert relay.lag() == 0 or relay.head < head
        stored = read_notifications(eschat.store, 0, 10_000)
    records = await read_topic(kafka_broker.bootstrap, TOPIC, until=lambda rs: len(rs) >= head)

    positions = sorted(r.position for r in records)
    assert positions == [n.id for n in stored] == list(range(1, head + 1))
    chats = by_chat(records)
    for chat_id, chat_positions in chats.items():
        assert chat_positions == sorted(chat_positions), chat_id
    for chat_id, message_ids in sent.items():
        sent_records = [r for r in records if r.value["type"] == "Message.Sent"
                        and r.value["chatId"] == chat_id]
        assert sorted(r.value["data"]["id"] for r in sent_records) == sorted(message_ids)
        # the chat's records are keyed by the chat, so they share one partition
        assert {r.key for r in records if r.value["chatId"] == chat_id} == {chat_id.encode()}
        assert len({r.partition for r in records if r.value["chatId"] == chat_id}) == 1


async def test_record_shape_key_value_and_headers(
    kafka_broker: TansuBroker, sqlite_url: str, tmp_path: Path
) -> None:
    async with running_eschat(sqlite_url, tmp_path, kafka_bootstrap=kafka_broker.bootstrap,
                              kafka_topic="shape-topic") as eschat:
        sent = await chat_scenario(eschat, chats=1, messages=2)
        head = await wait_relayed(relay_of(eschat), eschat)
    records = await read_topic(kafka_broker.bootstrap, "shape-topic",
                               until=lambda rs: len(rs) >= head)
    (chat_id, message_ids), = sent.items()
    by_type = {r.value["type"]: r for r in records}
    assert set(by_type) >= {"User.Registered", "Chat.Created", "Message.Sent",
                            "Receipts.Delivered", "Receipts.Read"}
    for record in records:
        assert set(record.value) == {"type", "position", "chatId", "data", "occurredAt"}
        assert record.headers["type"] == record.value["type"].encode()
        assert record.value["occurredAt"].endswith("Z")
    sent_record = by_type["Message.Sent"]
    assert sent_record.key == chat_id.encode()
    assert sent_record.value["chatId"] == chat_id
    assert sent_record.value["data"]["chatId"] == chat_id
    assert sent_record.value["data"]["content"].startswith("hello")
    assert sent_record.value["data"]["id"] in message_ids
    # receipts are high-water marks that name their chat, message and seq
    read = by_type["Receipts.Read"]
    assert read.value["chatId"] == chat_id and read.key == chat_id.encode()
    assert read.value["data"]["chatId"] == chat_id
    assert read.value["data"]["messageId"] in message_ids
    assert isinstance(read.value["data"]["seq"], int)
    assert by_type["Chat.Created"].value["chatId"] == chat_id
    # no chat: keyed by the aggregate, chatId null, and no secrets leave the store
    user = by_type["User.Registered"]
    assert user.value["chatId"] is None
    assert user.key == user.value["data"]["id"].encode()
    assert "passwordHash" not in user.value["data"]
