"""Rebuild equals live: after thousands of random commands, `eschat projections
rebuild` replays the log into read models equal, row for row, to the live ones."""

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

from domain.errors import DomainError
from infrastructure.eventstore import head_position
from interfaces.server import Container
from tests.integration.core.conftest import make_container
from tests.integration.core.readmodel_dump import dump_read_models

USERS = [f"user{i}" for i in range(8)]


async def random_commands(container: Container, count: int, seed: int) -> int:
    rng = random.Random(seed)
    s = container.service
    for user in USERS:
        await s.ensure_user(user)
    await s.node_started(lease_seconds=60)
    chats = [await s.create_chat(USERS[i], f"chat {i}", rng.sample(USERS, 3)) for i in range(6)]
    messages: list[tuple[str, str]] = []
    connections = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        chat = rng.choice(chats)
        user = rng.choice(USERS)
        roll = rng.random()
        try:
            if roll < 0.5:
                sent = await s.send_message(user, chat.id, f"m{rng.random()}",
                                            rng.choice([None, f"c{rng.randrange(300)}"]))
                messages.append((sent.message.chat_id, sent.message.id))
            elif roll < 0.65 and messages:
                chat_id, message_id = rng.choice(messages)
                await s.mark_delivered(user, chat_id, message_id)
            elif roll < 0.8 and messages:
                chat_id, message_id = rng.choice(messages)
                await s.mark_read(user, chat_id, message_id)
            elif roll < 0.85:
                await s.add_member(rng.choice(chat.member_ids), chat.id, user)
            elif roll < 0.88:
                await s.remove_member(rng.choice(chat.member_ids), chat.id, user)
            elif roll < 0.95 or not connections:
                connections.append(await s.open_connection(user))
            else:
                await s.close_connection(connections.pop(rng.randrange(len(connections))))
        except DomainError:
            failures += 1

    for _ in range(count // 50):
        await asyncio.gather(*(one() for _ in range(50)))
    await s.sync()
    return failures


def run_cli(database_url: str, data_dir: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCHAT_")}
    env.update(ESCHAT_DATABASE_URL=database_url, ESCHAT_DATA_DIR=str(data_dir),
               ESCHAT_JWT_SECRET="test-secret-" + "x" * 32)
    out = subprocess.run([sys.executable, "-m", "interfaces.cli", *args], env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


async def test_rebuild_equals_live(database_url: str, tmp_path: Path) -> None:
    container = make_container(database_url, tmp_path)
    container.start()
    try:
        failures = await random_commands(container, 3000, seed=7)
        head = head_position(container.store)
        # sync() gives up after a few seconds; a machine under load may need more.
        assert await container.runner.wait_for(head, 60)
        live = dump_read_models(container)
    finally:
        container.close()
    assert head > 1500 and 0 < failures < 3000  # the mix did real work and hit real errors
    assert len(live["rm_messages"]) > 500

    output = run_cli(database_url, tmp_path, "projections", "rebuild")
    assert "rebuilt history, chats, presence" in output

    container = make_container(database_url, tmp_path)
    try:
        rebuilt = dump_read_models(container)
    finally:
        container.close()
    for table in live:
        assert rebuilt[table] == live[table], f"{table} differs after rebuild"


async def test_rebuild_of_one_projection_leaves_the_others(database_url: str,
                                                          tmp_path: Path) -> None:
    container = make_container(database_url, tmp_path)
    container.start()
    try:
        await random_commands(container, 200, seed=3)
        live = dump_read_models(container)
    finally:
        container.close()

    output = run_cli(database_url, tmp_path, "projections", "rebuild", "chats")
    assert "rebuilt chats" in output
    status = run_cli(database_url, tmp_path, "projections", "status")
    rows = status.splitlines()[1:4]
    assert [r.split()[0] for r in rows] == ["chats", "history", "presence"]
    assert all(r.split()[-1] == "0" for r in rows)
    assert "last rebuild: chats switched at position" in status

    container = make_container(database_url, tmp_path)
    try:
        assert dump_read_models(container) == live
    finally:
        container.close()


async def test_a_stopped_rebuild_leaves_the_live_models_and_resumes(database_url: str,
                                                                    tmp_path: Path) -> None:
    import threading

    from infrastructure.rebuild import rebuild_under_way

    container = make_container(database_url, tmp_path)
    container.start()
    try:
        await random_commands(container, 600, seed=5)
        head = head_position(container.store)
        assert await container.runner.wait_for(head, 60)
        live = dump_read_models(container)
    finally:
        container.close()

    container = make_container(database_url, tmp_path)
    try:
        stop = threading.Event()

        def stop_halfway(done: int, total: int) -> None:
            if done >= total // 2:
                stop.set()

        first = container.runner.rebuild(batch_size=50, progress=stop_halfway, stop=stop)
        assert not first.switched and 0 < first.state.position < head
        under_way = rebuild_under_way(container.db)
        assert under_way is not None and under_way.position == first.state.position
        assert dump_read_models(container) == live  # the live ones serve, untouched

        second = container.runner.rebuild(batch_size=50)
        assert second.switched and second.state.id == first.state.id
        assert second.events == head - first.state.position  # resumed, not restarted
        assert rebuild_under_way(container.db) is None
        assert dump_read_models(container) == live
    finally:
        container.close()
