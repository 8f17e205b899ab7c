"""Sealing (infrastructure/sealing.py): personal fields are stored AES-GCM-sealed with a
key of their author; a destroyed key opens as None, in this process at once and in
another after its key cache's time to live."""

import time
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
