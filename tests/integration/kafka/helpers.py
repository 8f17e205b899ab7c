"""eschat in-process for the relay tests: the same composition root as
`eschat serve` (build_container), driven through its ChatService."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from infrastructure.eventstore import head_position
from infrastructure.kafka import KafkaRelay
from infrastructure.settings import Settings
from interfaces.server import Container, build_container
from tests.integration.kafka.broker import Consumed

TOPIC = "chat-messages"


def settings_for(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, data_dir=str(data_dir),
                    jwt_secret="test-secret-" + "x" * 32, **overrides)


@asynccontextmanager
async def running_eschat(database_url: str, data_dir: Path,
                         **overrides: Any) -> AsyncIterator[Container]:
    container = build_container(settings_for(database_url, data_dir, **overrides))
    await asyncio.to_thread(container.start)
    try:
        yield container
    finally:
        await asyncio.to_thread(container.close)


def relay_of(container: Container) -> KafkaRelay:
    relay = container.extras["relay"]
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
