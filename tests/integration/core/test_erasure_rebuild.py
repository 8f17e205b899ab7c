"""Erasures and a retention sweep in the middle of a random mix of commands: the read
models rebuilt from the log equal the live ones, row for row, and hold none of the
erased text."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from infrastructure.eventstore import head_position
from tests.integration.core.conftest import make_container
from tests.integration.core.readmodel_dump import dump_read_models
from tests.integration.core.test_rebuild import USERS, random_commands, rebuild_and_dump


async def test_rebuild_after_erasures_and_expiry_equals_live(database_url: str,
                                                             tmp_path: Path) -> None:
    container = make_container(database_url, tmp_path)
    container.start()
    s = container.service
    try:
        await random_commands(container, 1500, seed=11)
        await s.sync()
        owned = {c.id: c.owner_id for u in USERS for c in await s.chats_of(u)
                 if c.kind == "group" and c.owner_id}
        kept_for_a_day = sorted(owned)[:2]
        for chat_id in kept_for_a_day:
            await s.update_chat(owned[chat_id], chat_id, None, None, (1,))
        expired = await s.sweep_retention(datetime.now(UTC) + timedelta(days=2), None)
        for user in ("user1", "user2"):
            await s.erase_user(user)
        await random_commands(container, 1000, seed=12)  # erased users' commands included
        head = head_position(container.store)
        assert await container.runner.wait_for(head, 60)
        live = dump_read_models(container)
    finally:
        container.close()

    messages = live["rm_messages"]  # id, chat, sender, content, ..., erased last
    assert expired > 20
    assert {m[1] for m in messages if m[-1] and m[2] not in ("user1", "user2")} <= set(
        kept_for_a_day)
    erased_authors = [m for m in messages if m[2] in ("user1", "user2")]
    assert len(erased_authors) > 50 and all(m[-1] == 1 and m[3] == "" for m in erased_authors)
    assert sum(1 for m in messages if m[-1] == 0 and m[3]) > 100  # the others' stay

    _, rebuilt = rebuild_and_dump(database_url, tmp_path)
    for table in live:
        assert rebuilt[table] == live[table], f"{table} differs after rebuild"
