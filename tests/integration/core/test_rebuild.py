"""Rebuild equals live: after thousands of random commands, `eschat projections
rebuild` replays the log into read models equal, row for row, to the live ones."""

import asyncio
import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.errors import DomainError
from domain.times import wire_time
from infrastructure.eventstore import head_position
from interfaces.server import Container
from tests.integration.core.conftest import make_container
from tests.integration.core.readmodel_dump import dump_read_models

USERS = [f"user{i}" for i in range(8)]
EMOJIS = ["👍", "🎉", "❤️", "x"]


class Texts:
    """Every content stored per message, and the messages deleted."""

    def __init__(self) -> None:
        self.contents: dict[str, list[str]] = {}
        self.deleted: set[str] = set()

    def of_deleted(self) -> list[str]:
        return [c for m in self.deleted for c in self.contents[m]]


async def random_commands(container: Container, count: int, seed: int,
                          texts: Texts | None = None) -> int:
    rng = random.Random(seed)
    texts = texts or Texts()
    s = container.service
    for user in USERS:
        await s.ensure_user(user)
    await s.node_started(lease_seconds=60)
    chats = [await s.create_chat(USERS[i], f"chat {i}", rng.sample(USERS, 3)) for i in range(6)]
    chats_by_id = {c.id: c for c in chats}
    replies: set[str] = set()
    sender_of: dict[str, str] = {}
    messages: list[tuple[str, str]] = []
    connections = []
    failures = 0

    async def moderate(chat_id: str, actor: str, user: str) -> None:
        """Roles, bans, mutes and membership (issue 17), each a real command."""
        roll = rng.random()
        if roll < 0.25:
            await s.add_member(actor, chat_id, user)
        elif roll < 0.35:
            await s.name_admin(actor, chat_id, user)
        elif roll < 0.45:
            await s.ban(actor, chat_id, user, rng.choice([None, "spam"]))
        elif roll < 0.52:
            await s.unban(actor, chat_id, user)
        elif roll < 0.62:
            until = rng.choice([None, datetime.now(UTC) + timedelta(seconds=rng.choice([1, 60]))])
            await s.mute(actor, chat_id, user, until)
        elif roll < 0.68:
            await s.unmute(actor, chat_id, user)
        elif roll < 0.76:
            await s.leave(user, chat_id)
        elif roll < 0.82:
            await s.update_chat(actor, chat_id, f"t{rng.randrange(9)}", None)
        elif roll < 0.88:
            await s.hand_over(actor, chat_id, user)
        elif roll < 0.92:
            await s.remove_admin(actor, chat_id, user)
        else:
            invite = await s.create_invite(actor, chat_id, 60, 2)
            await s.accept_invite(user, invite.code)

    async def over_time(user: str) -> None:
        """Edits, deletes, reactions and pins (issue 16) on a random message."""
        chat_id, message_id = rng.choice(messages)
        roll = rng.random()
        sender = sender_of[message_id]
        if roll < 0.3:
            content = f"e{rng.random()} @{rng.choice(USERS)}"
            if await s.edit_message(rng.choice([sender, sender, user]), chat_id, message_id,
                                    content) is not None:
                texts.contents[message_id].append(content)
        elif roll < 0.37:
            if await s.delete_message(rng.choice([user, sender, chats_by_id[chat_id].created_by]),
                                      chat_id, message_id) is not None:
                texts.deleted.add(message_id)
        elif roll < 0.75:
            await s.set_reaction(user, chat_id, message_id, rng.choice(EMOJIS), True)
        elif roll < 0.88:
            await s.set_reaction(user, chat_id, message_id, rng.choice(EMOJIS), False)
        else:
            await s.set_pin(chats_by_id[chat_id].created_by, chat_id, message_id,
                            rng.random() < 0.7)

    async def one() -> None:
        nonlocal failures
        chat = rng.choice(chats)
        user = rng.choice(USERS)
        roll = rng.random()
        try:
            if roll < 0.3:
                related = [m for c, m in messages[-30:] if c == chat.id and m not in replies]
                thread = rng.choice([None, None, None, *related[-2:]])
                content = f"m{rng.random()} @{rng.choice(USERS)}"
                sent = await s.send_message(user, chat.id, content,
                                            rng.choice([None, f"c{rng.randrange(300)}"]),
                                            reply_to=rng.choice([None, None, *related[-3:]]),
                                            thread_id=thread)
                if sent.duplicate:  # a client message id used before: maybe an earlier run's
                    return
                messages.append((sent.message.chat_id, sent.message.id))
                texts.contents.setdefault(sent.message.id, [sent.message.content or ""])
                sender_of[sent.message.id] = user
                if thread is not None:
                    replies.add(sent.message.id)
            elif roll < 0.5 and messages:
                await over_time(user)  # about 1,200 of them, and 700 thread replies
            elif roll < 0.65 and messages:
                chat_id, message_id = rng.choice(messages)
                await s.mark_delivered(user, chat_id, message_id)
            elif roll < 0.8 and messages:
                chat_id, message_id = rng.choice(messages)
                await s.mark_read(user, chat_id, message_id)
            elif roll < 0.85:
                await moderate(chat.id, rng.choice([chat.created_by, user]), user)
            elif roll < 0.88:
                await s.remove_member(rng.choice([chat.created_by, *USERS]), chat.id, user)
            elif roll < 0.9:  # privacy settings (issue 18): receipts and last seen follow
                await s.change_privacy(user, rng.random() < 0.6, rng.random() < 0.6)
            elif roll < 0.95 or not connections:
                connections.append(await s.open_connection(user))
            else:
                await s.close_connection(connections.pop(rng.randrange(len(connections))))
        except DomainError:
            failures += 1

    for _ in range(count // 50):
        await asyncio.gather(*(one() for _ in range(50)))
    # An admin named and a mute that stay, whatever the random churn left.
    for chat in chats:
        for change in (s.name_admin, s.mute):
            for actor, user in ((a, u) for a in USERS for u in USERS if a != u):
                try:
                    await (change(actor, chat.id, user) if change == s.name_admin
                           else change(actor, chat.id, user, None))
                    break
                except DomainError:
                    continue
    await s.sync()
    return failures


def rebuild_and_dump(database_url: str,
                     data_dir: Path) -> tuple[str, dict[str, list[tuple[Any, ...]]]]:
    """`eschat projections rebuild` as an operator runs it; its output and the read models
    it leaves."""
    output = run_cli(database_url, data_dir, "projections", "rebuild")
    container = make_container(database_url, data_dir)
    try:
        return output, dump_read_models(container)
    finally:
        container.close()


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
        texts = Texts()
        failures = await random_commands(container, 6000, seed=7, texts=texts)
        head = head_position(container.store)
        # sync() gives up after a few seconds; a machine under load may need more.
        assert await container.runner.wait_for(head, 60)
        live = dump_read_models(container)
        # The read model derives the roles the aggregates hold (owner, admins, members,
        # bans, mutes), chat by chat.
        for info in live["rm_chat_info"]:
            chat_id = UUID(info[0])
            chat = container.store.repository.get(chat_id)
            view = container.read_models.chat(chat_id)
            assert view is not None
            assert (view.owner_id, view.admins, sorted(view.member_ids), view.title) == (
                chat.owner_id, chat.admins, sorted(chat.member_ids), chat.title), chat_id
            bans = {b.user_id for b in container.read_models.bans(chat_id)}
            assert bans == set(chat.banned), chat_id
            now = wire_time(datetime.now(UTC) - timedelta(days=1))  # expired ones too
            mutes = {m.user_id: m.until for m in container.read_models.mutes(chat_id, now)}
            assert mutes == chat.mutes, chat_id
    finally:
        container.close()
    assert head > 800 and 0 < failures < 6000  # the mix did real work and hit real errors
    assert len(live["rm_messages"]) > 300
    # Roles, bans, mutes and membership changed for real (issue 17).
    assert live["rm_bans"] and live["rm_mutes"] and live["rm_reports"] == []
    assert any(span[4] is not None for span in live["rm_member_spans"])
    assert any(len(json.loads(info[7])) > 1 for info in live["rm_chat_info"])
    # Messages changed over time for real (issue 16): edits, deletes, reactions, threads.
    assert len(live["rm_edits"]) > 150 and len(live["rm_reactions"]) > 50
    assert live["rm_mentions"]
    columns = ("deleted", "thread_id", "thread_reply_count", "pinned")
    counts = {c: sum(int(m[i] or 0) if c != "thread_id" else m[i] is not None
                     for m in live["rm_messages"])
              for c, i in zip(columns, (11, 8, 12, 14), strict=True)}
    assert all(n > 0 for n in counts.values()), counts

    output, rebuilt = rebuild_and_dump(database_url, tmp_path)
    assert "rebuilt history, chats, presence, roster" in output
    for table in live:
        assert rebuilt[table] == live[table], f"{table} differs after rebuild"
    # No version of a deleted message is left in any read model, live or rebuilt.
    gone = texts.of_deleted()
    assert len(texts.deleted) > 20 and len(gone) > len(texts.deleted)
    for dump in (live, rebuilt):
        text = repr(dump)
        assert [c for c in gone if c in text] == []
    assert any(c in repr(live) for m, cs in texts.contents.items() if m not in texts.deleted
               for c in cs[-1:])  # the others' latest versions are there


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


def index_schema(container: Container) -> list[tuple[object, ...]]:
    """Every index of the read models: name, table and definition."""
    with container.db.transaction(readonly=True) as tx:
        if container.db.dialect == "sqlite":
            rows = tx.fetchall("SELECT name, tbl_name, sql FROM sqlite_master"
                               " WHERE type = 'index'")
        else:
            rows = tx.fetchall("SELECT indexname, tablename, indexdef FROM pg_indexes"
                               " WHERE schemaname = current_schema()")
    return sorted(rows, key=repr)


async def test_rebuilt_read_models_have_a_fresh_stores_indexes(database_url: str,
                                                              tmp_path: Path) -> None:
    container = make_container(database_url, tmp_path)
    container.start()
    try:
        await random_commands(container, 300, seed=11)
        head = head_position(container.store)
        assert await container.runner.wait_for(head, 60)
        fresh = index_schema(container)
        live = dump_read_models(container)
    finally:
        container.close()
    names = {row[0] for row in fresh}
    assert {"rm_messages_chat_seq", "rm_unread_chat", "rm_members_user",
            "rm_feed_chat"} <= names

    # Twice everything, then one projection: each time a start-up in between.
    for args in ((), (), ("chats",)):
        run_cli(database_url, tmp_path, "projections", "rebuild", *args)
        container = make_container(database_url, tmp_path)
        try:
            assert index_schema(container) == fresh
        finally:
            container.close()
    container = make_container(database_url, tmp_path)
    try:
        assert dump_read_models(container) == live
    finally:
        container.close()


async def test_indexes_an_earlier_rebuild_left_under_its_names_get_the_live_ones(
        database_url: str, tmp_path: Path) -> None:
    container = make_container(database_url, tmp_path)
    try:
        fresh = index_schema(container)
        # What a rebuild of the release before left: its own index names.
        with container.db.transaction() as tx:
            tx.execute("DROP INDEX rm_unread_chat")
            tx.execute("CREATE INDEX rm_unread_chat__r17 ON rm_unread (chat_id)")
            if container.db.dialect == "postgres":
                tx.execute("ALTER INDEX rm_messages_pkey RENAME TO rm_messages__r17_pkey")
        assert index_schema(container) != fresh
    finally:
        container.close()
    container = make_container(database_url, tmp_path)
    try:
        assert index_schema(container) == fresh
    finally:
        container.close()


# A rebuild in a process of its own that holds still (after its first batch) until
# it reads a line.
HELD_REBUILD = """
import sys
from pathlib import Path
from typing import Any
from tests.integration.core.conftest import make_container

container = make_container(sys.argv[1], Path(sys.argv[2]))
held = []

def progress(done, total):
    if done > 0 and not held:
        held.append(done)
        print("rebuilding", flush=True)
        sys.stdin.readline()

result = container.runner.rebuild(batch_size=50, progress=progress)
print("switched" if result.switched else "stopped", flush=True)
container.close()
"""


async def test_a_second_rebuild_refuses_while_one_runs(database_url: str,
                                                       tmp_path: Path) -> None:
    container = make_container(database_url, tmp_path)
    container.start()
    try:
        await random_commands(container, 300, seed=13)
        head = head_position(container.store)
        assert await container.runner.wait_for(head, 60)
        live = dump_read_models(container)
    finally:
        container.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCHAT_")}
    first = subprocess.Popen([sys.executable, "-c", HELD_REBUILD, database_url, str(tmp_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                             cwd=Path(__file__).resolve().parents[3])
    try:
        assert first.stdout is not None and first.stdin is not None
        assert first.stdout.readline().strip() == "rebuilding"

        env.update(ESCHAT_DATABASE_URL=database_url, ESCHAT_DATA_DIR=str(tmp_path),
                   ESCHAT_JWT_SECRET="test-secret-" + "x" * 32)
        second = subprocess.run([sys.executable, "-m", "interfaces.cli", "projections",
                                 "rebuild"], env=env, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 4, second.stderr
        assert "another rebuild is running on this store (process" in second.stderr
        assert f"process {first.pid} on" in second.stderr
        assert "rebuild under way of history, chats, presence, roster" in second.stdout

        first.stdin.write("\n")
        first.stdin.flush()
        assert first.stdout.readline().strip() == "switched"
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    # The lock went with the first: the next rebuild runs.
    assert "rebuilt history" in run_cli(database_url, tmp_path, "projections", "rebuild")
    container = make_container(database_url, tmp_path)
    try:
        assert dump_read_models(container) == live
    finally:
        container.close()
