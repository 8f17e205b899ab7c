"""Events per second of `eschat projections rebuild` (all projections).

    python bench/rebuild_speed.py --events 1000000 --database-url sqlite:///./data/bench/r1m.db
    python bench/rebuild_speed.py --events 1000000 --database-url postgresql://...  [--keep]

Seeds the store with N real events (written through the domain aggregates and
the event store, in big batches): mostly messages sent, some delivered and read
receipts, membership changes, connections opening and closing and node
restarts, over many chats and users. Then times exactly what `eschat
projections rebuild` does and prints, as its last line, one JSON object
`{"events", "seconds", "events_per_s", "cpu_s", "load"}`: cpu_s is this process's
user + sys time (worker processes included) from start-up to the end, load the
1-minute load average at the end (the machine is shared: wall time alone misleads).

`--keep` reuses a store that already holds N events (a SQLite file is its own
cache: pass the same URL again); without it the store is emptied and seeded anew.
A PostgreSQL store's tables are dropped: do not point it at data you keep.
"""

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.domain import Aggregate  # noqa: E402

from domain.chat import Chat  # noqa: E402
from domain.message import Message  # noqa: E402
from domain.presence import Connection, Node  # noqa: E402
from domain.receipts import Receipts  # noqa: E402
from domain.user import User  # noqa: E402
from infrastructure.database_url import SqliteLocation, parse_database_url  # noqa: E402
from infrastructure.eventstore import ChatEventStore, head_position  # noqa: E402
from infrastructure.settings import load_settings  # noqa: E402
from interfaces.server import Container, bootstrap, tune_gc  # noqa: E402

USERS = 5000
CHATS = 1000
SAVE_BATCH = 5000  # aggregates per save: one transaction each


def container_for(url: str, data_dir: str) -> Container:
    settings = load_settings({}, database_url=url, data_dir=data_dir,
                             jwt_secret="bench-" + "x" * 32, node_id="bench")
    return bootstrap(settings)


def reset(url: str) -> None:
    location = parse_database_url(url)
    if isinstance(location, SqliteLocation):
        for path in (location.events_path, location.readmodels_path):
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        from tests.conftest import reset_postgres

        reset_postgres(url)


class Seeder:
    """Writes a realistic mix of events through the aggregates, in big saves."""

    def __init__(self, store: ChatEventStore, seed: int = 1) -> None:
        self.store = store
        self.rng = random.Random(seed)
        self.pending: dict[UUID, Aggregate] = {}
        self.written = 0
        self.events = 0  # triggered so far, saved or pending
        self.users = [f"u{i}" for i in range(USERS)]
        self.chats: list[Chat] = []
        self.chat_index: dict[UUID, Chat] = {}
        # Receipts go to recent stored messages: (message, its position).
        self.recent: list[tuple[Message, int]] = []
        self.receipts: dict[tuple[UUID, str], Receipts] = {}
        self.open: list[Connection] = []
        self.messages: dict[UUID, Message] = {}  # sent, not yet saved
        self.node = Node(node_id="bench-node")

    def _touch(self, aggregate: Aggregate) -> None:
        self.events += 1
        self.pending[aggregate.id] = aggregate
        if len(self.pending) >= SAVE_BATCH:
            self.flush()

    def flush(self) -> None:
        aggregates = list(self.pending.values())
        self.pending.clear()
        self.written += sum(len(a.pending_events) for a in aggregates)
        for recording in self.store.save(*aggregates):
            event = recording.domain_event
            if isinstance(event, Message.Sent):
                self.recent.append((self.messages.pop(event.originator_id),
                                    recording.notification.id))
        if len(self.recent) > 2000:
            self.recent = self.recent[-1000:]

    def setup(self) -> None:
        for user in self.users:
            self._touch(User.register(user, None, None, False))
        self._touch(self.node)
        for i in range(CHATS):
            size = min(USERS, int(self.rng.paretovariate(1.5)) + 1)  # many small, a few big
            members = self.rng.sample(self.users, min(size, 50))
            chat = Chat.start(f"chat {i}", members[1:], members[0])
            self.chats.append(chat)
            self._touch(chat)

    def step(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.80 or not self.recent:
            chat = rng.choice(self.chats)
            sender = rng.choice(chat.member_ids)
            client_id = f"c{self.written}-{len(self.pending)}" if rng.random() < 0.5 else None
            message = Message(chat_id=chat.id, sender_id=sender,
                              content="hello " * rng.randint(1, 20), client_message_id=client_id)
            self.messages[message.id] = message
            self._touch(message)
        elif roll < 0.90:
            message, seq = rng.choice(self.recent)
            chat = self.chat_index[message.chat_id]
            user = rng.choice(chat.member_ids)
            key = (chat.id, user)
            marks = self.receipts.get(key) or Receipts(chat_id=chat.id, user_id=user)
            self.receipts[key] = marks
            args = (message.id, message.sender_id, seq, len(chat.member_ids))
            if user != message.sender_id and (
                    marks.read(*args) if roll < 0.94 else marks.deliver(*args)):
                self._touch(marks)
        elif roll < 0.91:
            chat = rng.choice(self.chats)
            user = rng.choice(self.users)
            if not chat.is_member(user):
                if chat.admins and user not in chat.banned:  # members join through an admin
                    chat.add_member(user, chat.admins[0])
                    self._touch(chat)
            elif len(chat.member_ids) > 2:
                chat.leave(user)
                self._touch(chat)
        elif roll < 0.9995 or not self.open:
            if self.open and rng.random() < 0.5:
                connection = self.open.pop(rng.randrange(len(self.open)))
                connection.close()
            else:
                connection = Connection(user_id=rng.choice(self.users), node_id="bench-node")
                self.open.append(connection)
            self._touch(connection)
        else:
            self.node.restart()
            self.open.clear()
            self._touch(self.node)

    def run(self, events: int) -> None:
        self.setup()
        self.chat_index = {c.id: c for c in self.chats}
        while self.events < events:
            self.step()
        self.flush()


def seed(url: str, data_dir: str, events: int) -> None:
    container = container_for(url, data_dir)
    try:
        seeder = Seeder(container.store)
        started = time.perf_counter()
        seeder.run(events)
        elapsed = time.perf_counter() - started
        print(f"seeded {seeder.written} events in {elapsed:.1f} s", file=sys.stderr)
    finally:
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", default=None,
                        help="default: sqlite:///./data/bench/rebuild-N.db")
    parser.add_argument("--keep", action="store_true",
                        help="reuse a store already seeded with N events")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///./data/bench/rebuild-{args.events}.db"
    location = parse_database_url(url)
    data_dir = str(location.events_path.parent if isinstance(location, SqliteLocation)
                   else Path("./data/bench"))
    Path(data_dir).mkdir(parents=True, exist_ok=True)

    container = None
    if args.keep:
        container = container_for(url, data_dir)
        head = head_position(container.store)
        if head < args.events:
            print(f"store holds {head} events, not {args.events}: seeding anew",
                  file=sys.stderr)
            container.close()
            container = None
    if container is None:
        reset(url)
        seed(url, data_dir, args.events)
        container = container_for(url, data_dir)
    tune_gc()  # as `eschat projections rebuild` does
    try:
        started = time.perf_counter()
        # restart: a whole rebuild, even after a stopped run left one under way
        count = container.runner.rebuild(None, restart=True).events
        seconds = time.perf_counter() - started
    finally:
        container.close()
    print(json.dumps({"events": count, "seconds": round(seconds, 3),
                      "events_per_s": round(count / seconds, 1), "cpu_s": round(_cpu(), 1),
                      "load": os.getloadavg()[0]}))


def _cpu() -> float:
    """User + sys seconds of this process and its finished children."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                        resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
