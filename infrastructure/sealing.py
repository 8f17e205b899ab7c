"""Crypto-shredding: what quotes or names a person is stored sealed with a key of its author.

A field so stored (message content and edits, display names, a message snapshot's content)
is `{"_type_": "sealed", "_data_": [author, base64(nonce + AES-GCM ciphertext)]}`. Each
author has one 256-bit data key in the table `data_keys` (a file of its own beside a SQLite
store, `<name>-keys.db`; a table in a PostgreSQL store), created on their first write.
Erasing the author replaces the key by a tombstone: from then on every sealed field of theirs
opens as None, in every process, replay and rebuild. Keys are never in events, logs or Kafka.

Each process caches keys for `CACHE_TTL_S`: another node honours an erasure within that
time (the node that erases, at once). A background thread per process fetches again the
keys of people who keep writing before they expire, so a send does not wait for them.
A write by an erased author (queued before the erasure) is sealed with a throwaway key:
unreadable from the start."""

import base64
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.utils import get_topic
from psycopg_pool import ConnectionPool

from domain.message import Message
from domain.user import User
from infrastructure.database_url import DatabaseLocation, PostgresLocation, SqliteLocation

log = logging.getLogger(__name__)

CACHE_TTL_S = 5.0
# The background refresher wakes this often. It fetches again every key used within
# KEEP_FRESH_S that would expire before its next two turns: the keys of people who keep
# writing never expire on the write or delivery path. (At 1,000 members, each author's
# key went stale every 5 s: a round trip in the writer ~200 times a second.)
REFRESH_EVERY_S = 1.0
KEEP_FRESH_S = 60.0
# Users per background query (SQLite binds one variable per user).
REFRESH_CHUNK = 500
NONCE_BYTES = 12

# Event type -> (its personal field, the field naming its author; '' = the message's sender).
SEALED: dict[type, tuple[str, str]] = {
    Message.Sent: ("content", "sender_id"),
    Message.Edited: ("content", ""),
    User.Registered: ("display_name", "user_id"),
}
# Snapshots hold the aggregate's state: the same fields, by the aggregate's topic.
SNAPSHOT_SEALED: dict[str, tuple[str, str]] = {
    get_topic(Message): ("content", "sender_id"),
    get_topic(User): ("display_name", "user_id"),
}


@dataclass(frozen=True)
class Sealed:
    """A sealed field as stored: its author and base64(nonce + ciphertext); `blob` is ''
    once it was shredded in place (text stored before sealing existed)."""

    author: str
    blob: str


class SealedAsJson(Transcoding):
    type = Sealed
    name = "sealed"

    def encode(self, obj: Sealed) -> list[str]:
        return [obj.author, obj.blob]

    def decode(self, data: list[str]) -> Sealed:
        return Sealed(data[0], data[1])


# -- where keys live --------------------------------------------------------------------

class KeyStore:
    """`fetch` answers key bytes, or None for an erased user; users with no row are absent."""

    def fetch(self, user_ids: list[str]) -> dict[str, bytes | None]: ...
    def create(self, user_id: str, key: bytes) -> bytes | None: ...
    def destroy(self, user_id: str) -> None: ...
    def compact(self) -> None: ...
    def close(self) -> None: ...


_DDL = ("CREATE TABLE IF NOT EXISTS data_keys (user_id TEXT PRIMARY KEY, key {blob},"
        " erased_at TEXT)")


def _now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class SqliteKeyStore(KeyStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), timeout=30, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # a lost key loses its author's text
        self._conn.execute("PRAGMA secure_delete=ON")  # a destroyed key leaves no bytes
        self._conn.execute(_DDL.format(blob="BLOB"))

    def fetch(self, user_ids: list[str]) -> dict[str, bytes | None]:
        marks = ",".join("?" * len(user_ids))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT user_id, key FROM data_keys WHERE user_id IN ({marks})",
                user_ids).fetchall()
        return {u: (bytes(k) if k is not None else None) for u, k in rows}

    def create(self, user_id: str, key: bytes) -> bytes | None:
        with self._lock:
            self._conn.execute("INSERT INTO data_keys (user_id, key) VALUES (?, ?)"
                               " ON CONFLICT (user_id) DO NOTHING", (user_id, key))
            row = self._conn.execute("SELECT key FROM data_keys WHERE user_id = ?",
                                     (user_id,)).fetchone()
        return bytes(row[0]) if row[0] is not None else None

    def destroy(self, user_id: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO data_keys (user_id, key, erased_at) VALUES (?, NULL, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET key = NULL,"
                " erased_at = COALESCE(data_keys.erased_at, excluded.erased_at)",
                (user_id, _now_text()))

    def compact(self) -> None:
        with self._lock:
            checkpoint_and_vacuum(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def checkpoint_and_vacuum(conn: sqlite3.Connection) -> None:
    """Leaves no deleted or overwritten bytes in the file, its free pages or its WAL."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class PostgresKeyStore(KeyStore):
    def __init__(self, conninfo: str) -> None:
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=2, open=True)
        with self._pool.connection() as conn:
            conn.execute(_DDL.format(blob="BYTEA"))

    def fetch(self, user_ids: list[str]) -> dict[str, bytes | None]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT user_id, key FROM data_keys WHERE user_id = ANY(%s)",
                                (user_ids,)).fetchall()
        return {u: (bytes(k) if k is not None else None) for u, k in rows}

    def create(self, user_id: str, key: bytes) -> bytes | None:
        with self._pool.connection() as conn:
            conn.execute("INSERT INTO data_keys (user_id, key) VALUES (%s, %s)"
                         " ON CONFLICT (user_id) DO NOTHING", (user_id, key))
            row = conn.execute("SELECT key FROM data_keys WHERE user_id = %s",
                               (user_id,)).fetchone()
        assert row is not None
        return bytes(row[0]) if row[0] is not None else None

    def destroy(self, user_id: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO data_keys (user_id, key, erased_at) VALUES (%s, NULL, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET key = NULL,"
                " erased_at = COALESCE(data_keys.erased_at, excluded.erased_at)",
                (user_id, _now_text()))

    def compact(self) -> None:
        with self._pool.connection() as conn:
            conn.autocommit = True
            conn.execute("VACUUM data_keys")
            conn.autocommit = False

    def close(self) -> None:
        self._pool.close()


def keys_path(location: SqliteLocation) -> Path:
    path = location.events_path
    return path.with_name(path.stem + "-keys" + (path.suffix or ".db"))


def open_key_store(location: DatabaseLocation) -> KeyStore:
    if isinstance(location, SqliteLocation):
        return SqliteKeyStore(keys_path(location))
    assert isinstance(location, PostgresLocation)
    return PostgresKeyStore(location.conninfo)


# -- sealing and opening ----------------------------------------------------------------

@dataclass
class _Entry:
    key: bytes | None  # None: no key (erased, or never wrote)
    erased: bool
    at: float


class Keyring:
    def __init__(self, store: KeyStore, ttl_s: float = CACHE_TTL_S,
                 clock: Callable[[], float] = time.monotonic,
                 refresh_every_s: float = REFRESH_EVERY_S) -> None:
        self.store = store
        self._ttl = ttl_s
        self._clock = clock
        self._every = refresh_every_s
        self._cache: dict[str, _Entry] = {}
        self._used: dict[str, float] = {}  # user -> when a key lookup last wanted them
        self._lock = threading.Lock()
        self._stale: set[str] = set()  # to fetch in the background now (is_erased_cached)
        self._wake = threading.Event()  # the refresher: something is stale
        self._closed = threading.Event()
        self._refresher: threading.Thread | None = None

    def _fresh(self, user_ids: Iterable[str]) -> dict[str, _Entry]:
        now = self._clock()
        wanted = list(dict.fromkeys(user_ids))
        # Entries are replaced whole, never changed in place: reading needs no lock.
        found = {u: e for u in wanted if (e := self._cache.get(u)) is not None
                 and now - e.at < self._ttl}
        missing = [u for u in wanted if u not in found]
        if missing:
            found.update(self._fetch(missing, now))
        self._used.update(dict.fromkeys(wanted, now))  # one C-level update: atomic
        self._ensure_refresher()
        return found

    def _fetch(self, user_ids: list[str], now: float) -> dict[str, _Entry]:
        rows = self.store.fetch(user_ids)
        fetched = {u: _Entry(rows.get(u), u in rows and rows[u] is None, now)
                   for u in user_ids}
        with self._lock:
            self._cache.update(fetched)
        return fetched

    def is_erased(self, user_id: str) -> bool:
        return self._fresh([user_id])[user_id].erased

    def is_erased_cached(self, user_id: str) -> bool:
        """`is_erased` without waiting for the key store, for the event loop's checks
        (every connect, REST call and client event): a stale entry answers as it stands
        and is fetched again in the background at once. (Fetching on the loop made a
        1,000-member receipt storm wait ~1 ms per member every 5 s.)
        `destroy` on this node marks the cache at once; another node's erasure shows
        within the TTL and one query. A user never looked up here is looked up now."""
        now = self._clock()
        # A fresh entry is read without the lock (one dict lookup is atomic): the loop
        # must not queue behind the writer and the projections, which take the lock to
        # open sealed contents (4 % of the loop's time in issue 12's receipt storm).
        entry = self._cache.get(user_id)
        if entry is None:
            return self.is_erased(user_id)
        if now - entry.at < self._ttl:
            return entry.erased
        with self._lock:
            self._stale.add(user_id)
        self._ensure_refresher()  # `destroy` fills the cache without starting it
        self._wake.set()
        return entry.erased

    def _ensure_refresher(self) -> None:
        if self._refresher is not None:
            return
        with self._lock:
            if self._refresher is not None or self._closed.is_set():
                return
            self._refresher = threading.Thread(target=self._refresh, name="eschat-keyring",
                                               daemon=True)
        self._refresher.start()

    def _refresh(self) -> None:
        """Each turn: the users found stale, and those used lately whose key would
        expire before the next two turns, in one query per REFRESH_CHUNK."""
        while True:
            self._wake.wait(self._every)
            if self._closed.is_set():
                return
            self._wake.clear()
            now = self._clock()
            expiring = now - self._ttl + 2 * self._every
            with self._lock:
                due, self._stale = self._stale, set()
            # Without the lock: the loop's stale checks take it, and a scan of thousands
            # of users must not hold them up (dict reads are atomic; entries are whole).
            for user, used in list(self._used.items()):
                if now - used > KEEP_FRESH_S:
                    self._used.pop(user, None)
                elif (e := self._cache.get(user)) is None or e.at <= expiring:
                    due.add(user)
            users = sorted(due)
            try:
                for i in range(0, len(users), REFRESH_CHUNK):
                    self._fetch(users[i:i + REFRESH_CHUNK], self._clock())
            except Exception:  # the store is away: the next turn asks again
                log.exception("could not refresh the keys of %d users", len(users))

    def seal(self, author: str, text: str) -> Sealed:
        entry = self._fresh([author])[author]
        key = entry.key
        if key is None and not entry.erased:
            key = self.store.create(author, AESGCM.generate_key(bit_length=256))
            with self._lock:
                self._cache[author] = _Entry(key, key is None, self._clock())
        if key is None:  # erased: nobody can ever read this
            key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, text.encode(), author.encode())
        return Sealed(author, base64.b64encode(nonce + ciphertext).decode())

    def open_all(self, sealed: Iterable[Sealed]) -> None:
        """Fetches the keys of these authors in one query (then `open` hits the cache)."""
        self._fresh(s.author for s in sealed)

    def open_many(self, sealed: Sequence[tuple[str, str]]) -> list[str | None]:
        """`open` of each (author, blob), with one key lookup for them all and one
        cipher per author (a rebuild opens every message of the log)."""
        entries = self._fresh(author for author, _ in sealed)
        ciphers: dict[str, AESGCM | None] = {}
        opened: list[str | None] = []
        for author, blob in sealed:
            if author in ciphers:
                cipher = ciphers[author]
            else:
                key = entries[author].key
                cipher = ciphers[author] = AESGCM(key) if key is not None else None
            if cipher is None or not blob:
                opened.append(None)
                continue
            raw = base64.b64decode(blob)
            try:
                opened.append(cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                             author.encode()).decode())
            except InvalidTag:
                opened.append(None)
        return opened

    def open(self, sealed: Sealed) -> str | None:
        """The text, or None when its author is erased (or it was shredded in place)."""
        if not sealed.blob:
            return None
        key = self._fresh([sealed.author])[sealed.author].key
        if key is None:
            return None
        raw = base64.b64decode(sealed.blob)
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                       sealed.author.encode()).decode()
        except InvalidTag:
            return None

    def destroy(self, user_id: str) -> None:
        self.store.destroy(user_id)
        with self._lock:
            self._cache[user_id] = _Entry(None, True, self._clock())

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        refresher = self._refresher
        if refresher is not None and refresher.is_alive() \
                and refresher is not threading.current_thread():
            refresher.join(5)
        self.store.close()


# -- the mapper: seals on the way in, opens on the way out ------------------------------

class SealingMapper(Mapper[UUID]):
    """eventsourcing's Mapper with the personal fields of a few topics sealed.

    The author of a message's edit is its sender, which the edit does not repeat:
    the store names it (`authors`) from the aggregates of the save under way."""

    def __init__(self, transcoder: Transcoder, keyring: Keyring) -> None:
        super().__init__(transcoder)
        self.keyring = keyring
        self._local = threading.local()

    def saving(self, authors: dict[UUID, str]) -> None:
        self._local.authors = authors

    def _author_of(self, originator_id: UUID) -> str:
        authors: dict[UUID, str] = getattr(self._local, "authors", {})
        return authors[originator_id]

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        seal = SEALED.get(type(domain_event))
        if seal is None and not isinstance(domain_event, Snapshot):
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        if seal is not None:
            field, author_field = seal
            author = (state[author_field] if author_field
                      else self._author_of(domain_event.originator_id))
            if isinstance(state.get(field), str):
                state[field] = self.keyring.seal(author, state[field])
        else:
            inner = dict(state["state"])
            personal = SNAPSHOT_SEALED.get(state["topic"])
            if personal is not None:
                field, author_field = personal
                if isinstance(inner.get(field), str):
                    inner[field] = self.keyring.seal(inner[author_field], inner[field])
            state["state"] = inner
        proxy = object.__new__(type(domain_event))
        object.__setattr__(proxy, "__dict__", state)
        return super().to_stored_event(proxy)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        state = domain_event.__dict__
        for name, value in state.items():
            if isinstance(value, Sealed):
                state[name] = self.keyring.open(value)
            elif name == "state" and isinstance(value, dict):
                for inner, v in value.items():
                    if isinstance(v, Sealed):
                        value[inner] = self.keyring.open(v)
        return domain_event
