"""eschat in-process for the relay tests: the same composition root as
`eschat serve` (bootstrap), driven through its ChatService."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from infrastructure.database_url import parse_database_url
from infrastructure.eventstore import head_position
from infrastructure.kafka import KafkaRelay, build_relay
from infrastructure.settings import Settings
from interfaces.server import Container, bootstrap
from tests.integration.kafka.broker import Consumed

TOPIC = "chat-messages"


def settings_for(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, data_dir=str(data_dir),
                    jwt_secret="test-secret-" + "x" * 32, **overrides)


# Shorter than production's timeouts, so an outage test does not wait 10 s for a
# batch to expire.
FAST_RELAY = {"request_timeout_ms": 2000, "backoff_max": 0.5}


@asynccontextmanager
async def running_eschat(database_url: str, data_dir: Path, relay_options: dict[str, Any]
                         | None = None, **overrides: Any) -> AsyncIterator[Container]:
    settings = settings_for(database_url, data_dir, **overrides)
    container = bootstrap(settings)
    if relay_options is not None:
        container.relay = build_relay(settings, container.store, container.db,
                                                parse_database_url(database_url),
                                                **relay_options)
    await asyncio.to_thread(container.start)
    try:
        yield container
    finally:
        await asyncio.to_thread(container.close)


def relay_of(container: Container) -> KafkaRelay:
    relay = container.relay
    assert isinstance(relay, KafkaRelay)
    return relay


async def wait_relayed(relay: KafkaRelay, container: Container, timeout: float = 30) -> int:
    """Waits until the relay's tracked position reaches the store's head."""
    head = await asyncio.to_thread(head_position, container.store)
    deadline = asyncio.get_running_loop().time() + timeout
    while relay.position < head:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"relay stuck at {relay.position} < {head}: {relay.stats()}")
        await asyncio.sleep(0.05)
    return head


async def chat_scenario(container: Container, chats: int = 3, messages: int = 10,
                        prefix: str = "") -> dict[str, list[str]]:
    """Users, chats, concurrent sends, deliveries and reads. Returns the
    message ids of each chat in send order per sender."""
    service = container.service
    users = [f"{prefix}alice", f"{prefix}bob", f"{prefix}carol"]
    for user in users:
        await service.ensure_user(user)
    chat_ids = [(await service.create_chat(users[0], f"chat {i}", users[1:])).id
                for i in range(chats)]
    sent: dict[str, list[str]] = defaultdict(list)

    async def send(chat_id: str, i: int) -> None:
        result = await service.send_message(users[i % 3], chat_id, f"hello {i}", wait=False)
        sent[chat_id].append(result.message.id)

    await asyncio.gather(*(send(c, i) for i in range(messages) for c in chat_ids))
    for chat_id in chat_ids:
        last = sent[chat_id][-1]
        await service.mark_delivered(users[1], chat_id, sent[chat_id][0], wait=False)
        await service.mark_read(users[2], chat_id, last, wait=False)
    return dict(sent)


def by_chat(records: Sequence[Consumed]) -> dict[str, list[int]]:
    """Positions per chat in the order the topic holds them (events of no chat
    are grouped by their key, the aggregate id)."""
    out: dict[str, list[int]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        out[r.value["chatId"] or f"key:{r.key!r}"].append(r.position)
    return dict(out)


def first_occurrences(positions: Sequence[int]) -> list[int]:
    seen: set[int] = set()
    out = []
    for p in positions:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


async def send_more(container: Container, sent: dict[str, list[str]], messages: int,
                    prefix: str = "") -> None:
    """More messages and receipts in existing chats, without waiting for the
    read models (which a test may hold locked)."""
    service = container.service
    users = [f"{prefix}alice", f"{prefix}bob", f"{prefix}carol"]
    for chat_id, ids in sent.items():
        for i in range(messages):
            result = await service.send_message(users[i % 3], chat_id, f"more {i}", wait=False)
            ids.append(result.message.id)
        await service.mark_read(users[1], chat_id, ids[-1], wait=False)


def assert_store_order_per_chat(records: Sequence[Consumed]) -> None:
    """Each chat's records, duplicates aside, are in store order."""
    for chat, positions in by_chat(records).items():
        firsts = first_occurrences(positions)
        assert firsts == sorted(firsts), f"{chat}: {positions}"
