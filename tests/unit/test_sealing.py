"""Sealing (infrastructure/sealing.py): personal fields are stored AES-GCM-sealed with a
key of their author; a destroyed key opens as None, in this process at once and in
another after its key cache's time to live."""

import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, UUIDAsHex

from domain.message import Message
from domain.user import User
from infrastructure.sealing import Keyring, SealedAsJson, SealingMapper, SqliteKeyStore
from infrastructure.stored_events import decode, open_personal
from infrastructure.transcoder import MsgspecTranscoder


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def mapper(keyring: Keyring) -> SealingMapper:
    transcoder = MsgspecTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), SealedAsJson()):
        transcoder.register(transcoding)
    return SealingMapper(transcoder, keyring)


def test_personal_fields_are_stored_sealed_and_open_as_none_once_the_key_is_destroyed(
    tmp_path: Path,
) -> None:
    clock = Clock()
    keys = tmp_path / "keys.db"
    here, there = Keyring(SqliteKeyStore(keys), clock=clock), Keyring(SqliteKeyStore(keys),
                                                                       clock=clock)
    m = mapper(here)
    message = Message(chat_id=uuid4(), sender_id="alice", content="secret ☃ one",
                      client_message_id=None)
    message.edit("alice", "secret two", ["alice"], seq=1)
    user = User.register("alice", None, "Alice Liddell", external=False)
    m.saving({message.id: "alice"})
    stored = [m.to_stored_event(e) for e in [*message.pending_events, *user.pending_events,
                                             Snapshot.take(message)]]
    for s in stored:
        assert b"secret" not in s.state and b"Liddell" not in s.state
    assert [getattr(m.to_domain_event(s), "content", None) for s in stored[:2]] == [
        "secret ☃ one", "secret two"]
    assert m.to_domain_event(stored[2]).display_name == "Alice Liddell"  # type: ignore[attr-defined]
    assert m.to_domain_event(stored[3]).state["content"] == "secret two"  # type: ignore[attr-defined]
    # the projections' decoder opens them too
    rows = [(i, s.originator_id.hex, s.topic, s.state) for i, s in enumerate(stored[:2], 1)]
    assert [c.state.content for c in open_personal(there, decode(rows))] == [
        "secret ☃ one", "secret two"]

    here.destroy("alice")
    assert here.is_erased("alice") and not here.is_erased("bob")
    assert [getattr(m.to_domain_event(s), "content", None) for s in stored[:2]] == [None, None]
    assert m.to_domain_event(stored[3]).state["content"] is None  # type: ignore[attr-defined]
    # another process still has the key cached until its time to live passes
    assert open_personal(there, decode(rows))[0].state.content == "secret ☃ one"
    clock.now += 5.1
    assert [c.state.content for c in open_personal(there, decode(rows))] == [None, None]
    assert there.is_erased("alice")
    # what an erased author writes afterwards (queued before the erasure) is unreadable
    late = Message(chat_id=uuid4(), sender_id="alice", content="too late",
                   client_message_id=None)
    sealed = m.to_stored_event(late.pending_events[0])
    assert b"too late" not in sealed.state
    assert m.to_domain_event(sealed).content is None  # type: ignore[attr-defined]
    assert SqliteKeyStore(keys).fetch(["alice"]) == {"alice": None}  # a tombstone, no key


def test_the_event_loops_check_never_waits_for_the_key_store_once_it_knows_the_user(
    tmp_path: Path,
) -> None:
    clock = Clock()
    keys = tmp_path / "keys.db"
    store = SqliteKeyStore(keys)
    fetched: list[list[str]] = []
    fetch = store.fetch

    def counting_fetch(user_ids: list[str]) -> dict[str, bytes | None]:
        fetched.append(list(user_ids))
        return fetch(user_ids)

    store.fetch = counting_fetch  # type: ignore[method-assign]
    here = Keyring(store, clock=clock)
    assert not here.is_erased_cached("alice")  # never looked up: looked up now
    assert fetched == [["alice"]]
    assert not here.is_erased_cached("alice")  # fresh: from the cache
    assert fetched == [["alice"]]

    Keyring(SqliteKeyStore(keys)).destroy("alice")  # another node erases her
    clock.now += 5.1
    # Stale: the answer as it stood, at once; the store is asked in the background.
    assert not here.is_erased_cached("alice")
    deadline = time.monotonic() + 5
    while not here.is_erased_cached("alice"):
        assert time.monotonic() < deadline, "the background refresh never came"
        time.sleep(0.01)
    assert fetched == [["alice"], ["alice"]]


def test_a_key_in_use_is_fetched_again_in_the_background_before_it_expires(
    tmp_path: Path,
) -> None:
    clock = Clock()
    store = SqliteKeyStore(tmp_path / "keys.db")
    held = threading.Event()
    calls: list[tuple[str, list[str]]] = []
    fetch = store.fetch

    def held_fetch(user_ids: list[str]) -> dict[str, bytes | None]:
        calls.append((threading.current_thread().name, list(user_ids)))
        if threading.current_thread().name == "eschat-keyring":
            held.wait(5)
        return fetch(user_ids)

    def wait_for(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 5
        while not condition():
            assert time.monotonic() < deadline, "the background refresher never came"
            time.sleep(0.01)

    store.fetch = held_fetch  # type: ignore[method-assign]
    here = Keyring(store, clock=clock, refresh_every_s=0.05)
    try:
        here.seal("alice", "one")  # first use: looked up (and created) now
        time.sleep(0.2)  # a few refresher turns: far from expiring, nothing fetched
        assert [name for name, _ in calls] == ["MainThread"]

        clock.now = 4.95  # expires before the refresher's next two turns: fetched by it
        sealed = here.seal("alice", "two")  # still valid: no wait for the key store
        wait_for(lambda: len(calls) == 2)
        assert calls[1] == ("eschat-keyring", ["alice"])
        assert here.open(sealed) == "two"  # while the background fetch is held
        held.set()
        wait_for(lambda: here._cache["alice"].at == 4.95)

        clock.now = 9.0  # 9 s after the first lookup, 4.05 s after the background one
        assert here.open(here.seal("alice", "three")) == "three"
        assert [name for name, _ in calls].count("MainThread") == 1  # never waited again

        Keyring(SqliteKeyStore(tmp_path / "keys.db")).destroy("alice")  # another node
        clock.now = 9.96  # expiring: the refresher finds the tombstone
        wait_for(lambda: here._cache["alice"].erased)
        assert here.open(sealed) is None

        clock.now = 100.0  # not used for a minute: no longer kept fresh
        wait_for(lambda: "alice" not in here._used)
        fetched = len(calls)
        time.sleep(0.2)
        assert len(calls) == fetched
    finally:
        here.close()
