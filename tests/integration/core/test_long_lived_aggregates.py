"""Chats live long: the writer loads them from a snapshot and keeps them in a
cache that is fast-forwarded from the store, so it stays correct when another node
wrote meanwhile (two nodes on one PostgreSQL), and a chat's size of history does
not change what it answers."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.chat import Chat
from domain.errors import Forbidden, Gone
from infrastructure import aggregate_loader
from infrastructure.aggregate_loader import AggregateLoader
from infrastructure.eventstore import SNAPSHOT_INTERVAL
from infrastructure.settings import load_settings
from interfaces.server import Container, bootstrap
from tests.conftest import PG_URL, reset_postgres


def node(database_url: str, data_dir: Path, node_id: str) -> Container:
    settings = load_settings({}, database_url=database_url, data_dir=str(data_dir),
                             jwt_secret="test-secret-" + "x" * 32, node_id=node_id)
    container = bootstrap(settings)
    container.start()
    return container


def pair(database_url: str, data_dir: Path) -> Iterator[tuple[Container, Container]]:
    a = node(database_url, data_dir / "a", "node-a")
    b = node(database_url, data_dir / "b", "node-b")
    yield a, b
    b.close()
    a.close()


class BeforeFirstSave:
    """Runs `other` (a coroutine, on the test's loop) once on `container`'s writer
    thread, after the writer decided a batch and before it stores it: a race with
    another node, made to happen."""

    def __init__(self, container: Container, other: Callable[[], Awaitable[Any]]) -> None:
        self.ran = False
        loop = asyncio.get_running_loop()
        save = container.store.save

        async def run() -> None:
            await other()

        def save_after_other(*aggregates: Any, **kwargs: Any) -> Any:
            if not self.ran:
                self.ran = True
                asyncio.run_coroutine_threadsafe(run(), loop).result(30)
            return save(*aggregates, **kwargs)

        container.store.save = save_after_other  # type: ignore[method-assign]


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[Container, Container]]:
    reset_postgres()
    yield from pair(PG_URL, tmp_path)


async def test_a_cached_chat_sees_what_another_node_changed(
    two_nodes: tuple[Container, Container],
) -> None:
    a, b = two_nodes
    for user in ("alice", "bob", "carol", "dave"):
        await a.service.ensure_user(user)
    chat = await a.service.create_chat("alice", "team", ["bob"])
    await b.service.send_message("bob", chat.id, "b caches the chat now")
    await a.service.send_message("alice", chat.id, "a caches it too")

    await a.service.remove_member("alice", chat.id, "bob")
    await a.service.add_member("alice", chat.id, "carol")
    # Node b's cached chat is behind: the command sees a's changes all the same.
    with pytest.raises(Forbidden):
        await b.service.send_message("bob", chat.id, "bob was removed on node a")
    await b.service.send_message("carol", chat.id, "carol was added on node a")

    # And the other way round, with a's cache behind b's write.
    await b.service.add_member("alice", chat.id, "dave")
    await a.service.remove_member("alice", chat.id, "carol")
    view = await b.service.add_member("alice", chat.id, "bob")
    assert view.member_ids == ["alice", "dave", "bob"]
    messages, _ = await a.service.history("alice", chat.id)
    assert [m.sender_id for m in messages] == ["bob", "alice", "carol"]


async def test_a_cache_many_events_behind_reads_them_all_page_by_page(
    two_nodes: tuple[Container, Container], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PostgreSQL reads PG_PAGE events per aggregate per query; 3 makes every load below
    # take several pages.
    monkeypatch.setattr(aggregate_loader, "PG_PAGE", 3)
    a, b = two_nodes
    for user in ("alice", "bob", "carol", "dave"):
        await a.service.ensure_user(user)
    team = await a.service.create_chat("alice", "team", ["bob"])
    other = await a.service.create_chat("alice", "other", ["bob"])
    for chat in (team, other):
        await a.service.send_message("alice", chat.id, "node a caches the chat")
    # Node b writes 11 and 5 changes that node a's cache has not seen.
    for chat, changes in ((team, 11), (other, 5)):
        for i in range(changes):
            if i % 2 == 0:
                await b.service.add_member("alice", chat.id, "carol")
            else:
                await b.service.remove_member("alice", chat.id, "carol")
    for chat in (team, other):
        view = await a.service.add_member("alice", chat.id, "dave")
        assert view.member_ids == ["alice", "bob", "carol", "dave"]
    ids = [UUID(team.id), UUID(other.id)]
    cold = AggregateLoader(a.store)(ids)  # from the first event, in pages of 3
    for aggregate_id in ids:
        replayed = a.store.repository.get(aggregate_id)
        loaded = cold[aggregate_id].aggregate
        assert isinstance(loaded, Chat) and isinstance(replayed, Chat)
        assert loaded.version == replayed.version > 2 * 3
        assert loaded.member_ids == replayed.member_ids


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_long_membership_history_loads_from_its_latest_snapshot(
    backend: str, tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/eschat.db" if backend == "sqlite" else PG_URL
    if backend == "postgres":
        reset_postgres()
    container = node(url, tmp_path, "node-a")
    try:
        s = container.service
        await s.ensure_user("alice")
        await s.ensure_user("bob")
        chat = await s.create_chat("alice", "busy", [])
        changes = 2 * SNAPSHOT_INTERVAL + 10
        for i in range(changes):
            if i % 2 == 0:
                await s.add_member("alice", chat.id, "bob")
            else:
                await s.remove_member("alice", chat.id, "bob")
        store = container.store
        assert store.snapshots is not None
        [latest] = store.snapshots.get(UUID(chat.id), desc=True, limit=1)
        assert latest.originator_version == 2 * SNAPSHOT_INTERVAL
        # A cold loader (another node, a restart) starts from that snapshot and
        # ends where replaying every event ends.
        cold = AggregateLoader(store)
        loaded = cold([UUID(chat.id)])[UUID(chat.id)].aggregate
        replayed = store.repository.get(UUID(chat.id))
        assert isinstance(loaded, Chat) and isinstance(replayed, Chat)
        assert loaded.version == replayed.version == changes + 1
        assert loaded.member_ids == replayed.member_ids == ["alice"]
        await s.send_message("alice", chat.id, "still answers")
    finally:
        container.close()


async def test_a_save_that_loses_a_race_is_redone_on_the_winners_state(
    two_nodes: tuple[Container, Container],
) -> None:
    """Node b takes the last use of an invite between node a's load and a's save: a's save
    fails on the version, and a's retry must see b's change, not its own unsaved one."""
    a, b = two_nodes
    for user in ("olga", "ron", "rita"):
        await a.service.ensure_user(user)
    chat = await a.service.create_chat("olga", "t", [])
    invite = await a.service.create_invite("olga", chat.id, None, 1)
    await a.service.send_message("olga", chat.id, "node a caches the chat")
    race = BeforeFirstSave(a, lambda: b.service.accept_invite("rita", invite.code))
    with pytest.raises(Gone):
        await a.service.accept_invite("ron", invite.code)
    assert race.ran
    for node_ in (a, b):
        view = await node_.service.chat_for("olga", chat.id)
        assert view.member_ids == ["olga", "rita"]


@pytest.fixture(params=["sqlite", "postgres"])
def two_writers(request: pytest.FixtureRequest,
                tmp_path: Path) -> Iterator[tuple[Container, Container]]:
    """Two nodes on PostgreSQL; on SQLite, two processes' worth (`--workers 2`): two
    containers, each with its writer and cache, on one store file."""
    if request.param == "postgres":
        reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path}/shared.db"
    yield from pair(url, tmp_path)


async def test_a_send_decided_on_a_chat_that_changed_before_its_save_is_refused(
    two_writers: tuple[Container, Container],
) -> None:
    """Node a decides bob may send from its cached chat; node b removes bob before a's
    save. The save checks, under the store's lock, that the chat it read has not moved:
    it has, so a redoes the send on the stored chat and refuses it. Nothing is stored."""
    a, b = two_writers
    for user in ("alice", "bob"):
        await a.service.ensure_user(user)
    chat = await a.service.create_chat("alice", "team", ["bob"])
    await a.service.send_message("bob", chat.id, "node a caches the chat")
    await b.service.send_message("alice", chat.id, "node b caches it too")
    race = BeforeFirstSave(a, lambda: b.service.remove_member("alice", chat.id, "bob"))
    with pytest.raises(Forbidden):
        await a.service.send_message("bob", chat.id, "sent after bob was removed")
    assert race.ran
    messages, _ = await b.service.history("alice", chat.id)
    assert [m.content for m in messages] == ["node a caches the chat", "node b caches it too"]


async def test_a_retried_client_message_id_is_answered_with_the_first_message(
    two_writers: tuple[Container, Container],
) -> None:
    """The writer takes a new clientMessageId for unused without asking the store; a
    retry (here through the other node) is caught by the save and answered with the
    message stored first."""
    a, b = two_writers
    for user in ("alice", "bob"):
        await a.service.ensure_user(user)
    chat = await a.service.create_chat("alice", "team", ["bob"])
    first = await a.service.send_message("alice", chat.id, "once", client_message_id="k1",
                                         wait=False)
    again = await b.service.send_message("alice", chat.id, "once", client_message_id="k1")
    assert again.duplicate and again.message.id == first.message.id
    assert again.message.seq == first.message.seq
    again = await a.service.send_message("alice", chat.id, "once", client_message_id="k1")
    assert again.duplicate and again.message.id == first.message.id
    messages, _ = await a.service.history("alice", chat.id)
    assert [m.content for m in messages] == ["once"]
