"""Several `eschat relay` processes on one store: one publishes, the others stand
by; killing whichever runs (SIGKILL, at any moment) while messages are sent loses nothing."""

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
from tests.integration.kafka.relay_process import start_relay, tracked_position


async def wait_tracked(database_url: str, position: int, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if (await asyncio.to_thread(tracked_position, database_url) or 0) >= position:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"relays did not reach {position}")


def stop_all(relays: list["subprocess.Popen[bytes]"]) -> None:
    for relay in relays:
        if relay.poll() is None:
            relay.send_signal(signal.SIGTERM)
    for relay in relays:
        relay.wait(20)


async def wait_until_up(directories: list[Path], timeout: float = 30) -> None:
    """Both relays past their start-up: one publishing, the other standing by."""
    for _ in range(int(timeout / 0.05)):
        logs = [(d / "relay.log").read_text() if (d / "relay.log").exists() else ""
                for d in directories]
        if all("connected to" in log or "standing by" in log for log in logs):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"relays did not start: {logs}")


async def test_two_relays_on_one_store_publish_each_event_once(
    kafka_broker: TansuBroker, database_url: str, tmp_path: Path
) -> None:
    await create_topic(kafka_broker.bootstrap, TOPIC)
    directories = [tmp_path / f"relay{i}" for i in range(2)]
    relays: list[subprocess.Popen[bytes]] = []
    try:
        async with running_eschat(database_url, tmp_path) as eschat:
            relays += [start_relay(database_url, d, kafka_broker.bootstrap, TOPIC)
                       for d in directories]
            await wait_until_up(directories)
            logs = [(d / "relay.log").read_text() for d in directories]
            assert sum("standing by" in log for log in logs) == 1, logs
            sent = await chat_scenario(eschat, chats=3, messages=10)
            for _ in range(3):
                await send_more(eschat, sent, messages=5)
                await asyncio.sleep(0.2)
            head = await asyncio.to_thread(head_position, eschat.store)
        await wait_tracked(database_url, head)
    finally:
        stop_all(relays)
    assert [r.returncode for r in relays] == [0, 0], [r.args for r in relays]
    records = await read_topic(kafka_broker.bootstrap, TOPIC, until=lambda rs: len(rs) >= head)
    assert sorted(r.position for r in records) == list(range(1, head + 1))


async def test_relays_killed_at_random_moments_while_messages_are_sent_lose_nothing(
    kafka_broker: TansuBroker, sqlite_url: str, tmp_path: Path
) -> None:
    await create_topic(kafka_broker.bootstrap, TOPIC)
    directory = tmp_path / "relays"
    relays = [start_relay(sqlite_url, directory, kafka_broker.bootstrap, TOPIC)
              for _ in range(2)]
    kills = 0
    try:
        async with running_eschat(sqlite_url, tmp_path) as eschat:
            sent = await chat_scenario(eschat, chats=3, messages=5)
            for round_ in range(6):
                sending = asyncio.create_task(send_more(eschat, sent, messages=8))
                await asyncio.sleep(0.15 + 0.05 * round_)
                victim = relays[round_ % len(relays)]
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                kills += 1
                relays[round_ % len(relays)] = start_relay(sqlite_url, directory,
                                                           kafka_broker.bootstrap, TOPIC)
                await sending
            head = await asyncio.to_thread(head_position, eschat.store)
        await wait_tracked(sqlite_url, head)
    finally:
        stop_all(relays)
    assert kills == 6
    records = await read_topic(kafka_broker.bootstrap, TOPIC, until=lambda rs: len(rs) >= head)
    counts = Counter(r.position for r in records)
    assert sorted(counts) == list(range(1, head + 1))
    assert_store_order_per_chat(records)
