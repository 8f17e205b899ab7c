"""The composition root: reads settings, builds the store, the applications,
the projections and the interfaces, and wires them. Nothing else reads the
environment."""

import gc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol

from eventsourcing.persistence import Notification

from application.backpressure import DeliveryBackpressure
from application.delivery import Committed
from application.ports import PasswordHasher
from application.projections.history import HistoryProjection
from application.service import ChatService
from application.writer import GroupCommitWriter
from infrastructure.advisory_locks import ProjectionLeadership, schema_lock
from infrastructure.aggregate_loader import CACHE_SIZE, AggregateLoader
from infrastructure.commit_feed import CommitFeed
from infrastructure.database_url import DatabaseLocation, PostgresLocation, parse_database_url
from infrastructure.erasure import StoreShredder
from infrastructure.eventstore import ChatEventStore, open_event_store, postgres_channel
from infrastructure.passwords import Argon2Hasher
from infrastructure.past import StoreAndIndexes
from infrastructure.peers import Peers
from infrastructure.postgres_recorder import ColumnsPostgresRecorder
from infrastructure.presence_leases import SqlNodeLeases
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.readmodels.chats import ChatsView
from infrastructure.readmodels.common import Projection
from infrastructure.readmodels.database import Database, open_database
from infrastructure.readmodels.history import HistoryView
from infrastructure.readmodels.presence import PresenceView
from infrastructure.readmodels.queries import SqlReadModels
from infrastructure.readmodels.roster import RosterView
from infrastructure.settings import Settings, load_settings
from infrastructure.tokens import ExternalIssuer, TokenService, dev_secret

if TYPE_CHECKING:
    from interfaces.gateway import ChatGateway
    from interfaces.socketio import WorkerRoutes

log = logging.getLogger("eschat")

IDLE_POLL_S = 0.002
# The loop, writer and projection threads hand the GIL to each other; at CPython's 5 ms
# default a thread back from the database can wait that long for it.
GIL_SWITCH_INTERVAL_S = 0.001
# The cyclic garbage collector stops every thread while it runs. With CPython's default
# thresholds (700, 10, 10) a full collection came every ~2 s in issue 12's receipt storm
# (objects of 1,000 receipts in flight outlive two young collections, then die in the
# old one) and took 100-127 ms each on this server's heap: it was the other chat's p99.
# In a rebuild the collector took 17-19 % of the time. So (`tune_gc`): what start-up made
# is frozen out of every collection (a full one then costs about half), and the young
# generation collects after 50,000 net allocations, not 700, so what lives a few hundred
# milliseconds dies young. Full collections became rare (0-1 per storm, 46-61 ms); a
# young one costs 14-36 ms, a few times a storm (bench/RESULTS.md, "Garbage collection").
GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """Once the node (or the CLI's container) is built, before the long work starts."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Relay(Protocol):
    """The Kafka relay as the node drives it (infrastructure/kafka: KafkaRelay)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def lag(self) -> int: ...


@dataclass
class Container:
    """One node: what bootstrap() built. `relay` is set when Kafka is configured,
    `gateway` once `serve` runs the Socket.IO side."""

    settings: Settings
    location: DatabaseLocation
    store: ChatEventStore
    db: Database
    runner: ProjectionRunner
    loader: AggregateLoader
    writer: GroupCommitWriter
    read_models: SqlReadModels
    leases: SqlNodeLeases
    service: ChatService
    tokens: TokenService
    relay: Relay | None = None
    gateway: "ChatGateway | None" = None
    # Told of each batch the writer commits, with its feed rows when it can have them
    # here (`serve`: the gateway delivers from the commit). On the writer thread.
    commit_listeners: list[Callable[[Committed], None]] = field(default_factory=list)

    def start(self) -> None:
        self.writer.start()
        self.runner.start()
        if self.relay is not None:
            self.relay.start()

    def close(self) -> None:
        """Finishes queued commands first: nothing acknowledged is dropped."""
        self.writer.stop()
        if self.relay is not None:
            self.relay.stop()
        self.runner.stop()
        self.db.close()
        self.store.close()


def settings_from_environment(**overrides: object) -> Settings:
    """The one place the process environment is read; CLI flags win over it."""
    import os

    return load_settings(os.environ, **overrides)


def projections(settings: Settings | None = None) -> list[Projection]:
    if settings is None:
        return [HistoryView(), ChatsView(), PresenceView(), RosterView()]
    return [HistoryView(settings.receipts_room_max), ChatsView(), PresenceView(), RosterView()]


def build_tokens(settings: Settings) -> TokenService:
    secret = settings.jwt_secret or dev_secret(settings.data_dir)
    external = None
    if settings.jwt_public_key:
        algorithms = [a.strip() for a in (settings.jwt_algorithms or "RS256").split(",")]
        external = ExternalIssuer(public_key=settings.jwt_public_key, algorithms=algorithms,
                                  issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return TokenService(secret, external)


def bootstrap(
    settings: Settings,
    *,
    hasher: PasswordHasher | None = None,
    tokens: TokenService | None = None,
    read_model_projections: list[Projection] | None = None,
    cache_size: int = CACHE_SIZE,
    relay: Relay | None | Literal["from-settings"] = "from-settings",
) -> Container:
    """Builds a node for `serve`, the CLI, benches and tests: event store (with
    snapshots), the writer's aggregate cache, the group-commit writer, projections,
    node leases, the service and, when Kafka is configured, the relay. Each
    keyword replaces one default part; nothing is started yet."""
    location = parse_database_url(settings.database_url)
    chosen = read_model_projections or projections(settings)
    with schema_lock(location):  # tables are created here, one node at a time
        store = open_event_store(location)
        db = open_database(location)
        # Whether another node follows this node's commits (infrastructure/peers.py): a
        # lone node NOTIFYs nobody and its projection cycles linger longer. The lease
        # checks tell it: at each heartbeat, and when another process NOTIFYs.
        peers = Peers()
        if isinstance(store.recorder, ColumnsPostgresRecorder):
            store.recorder.peers = peers
        if isinstance(location, PostgresLocation):
            runner = ProjectionRunner(store, db, chosen, listen_conninfo=location.conninfo,
                                      listen_channel=postgres_channel(store),
                                      leadership=ProjectionLeadership(location.conninfo),
                                      peers=peers)
        else:
            runner = ProjectionRunner(store, db, chosen, peers=peers)
        leases = SqlNodeLeases(db, peers)
        peers.recheck_with(partial(leases.others_alive, settings.effective_node_id))
    loader = AggregateLoader(store, cache_size)
    backpressure = DeliveryBackpressure(settings.delivery_budget_ms)
    history = next((p.projection for p in chosen if isinstance(p, HistoryView)),
                   HistoryProjection(settings.receipts_room_max))
    read_models = SqlReadModels(db)
    commit_feed = CommitFeed(store.keyring, history, read_models.hidden_readers)
    commit_listeners: list[Callable[[Committed], None]] = []

    def on_commit(notifications: Sequence[Notification]) -> None:
        backpressure.committed(max(n.id for n in notifications))
        delivered = False
        if commit_listeners:
            try:
                batch = commit_feed.batch(notifications)
            except Exception:  # the read models unreachable: the feed delivers it later
                log.exception("could not shape a committed batch; the feed delivers it")
                last = max(n.id for n in notifications)
                commit_feed.forget(last)
                batch = Committed(min(n.id for n in notifications), last, None)
            for listener in commit_listeners:
                listener(batch)
            delivered = batch.rows is not None
        runner.wake(urgent=not delivered)  # delivery waits for the feed otherwise

    writer = GroupCommitWriter(store, loader, on_commit=on_commit)
    service = ChatService(store, writer, read_models, runner, hasher or Argon2Hasher(),
                          settings.effective_node_id, leases, backpressure,
                          past=StoreAndIndexes(store, db),
                          shredder=StoreShredder(store, db, location, loader))
    tokens = tokens or build_tokens(settings)
    # Asked on the event loop at every connect, REST call and client event: never waits
    # for the key store for a user it has seen (infrastructure/sealing.py).
    tokens.is_erased = store.keyring.is_erased_cached
    if relay == "from-settings":
        relay = None
        if settings.kafka_bootstrap:
            from infrastructure.kafka import build_relay

            with schema_lock(location):
                relay = build_relay(settings, store, db, location)
    return Container(settings=settings, location=location, store=store, db=db, runner=runner,
                     loader=loader, writer=writer, read_models=read_models, leases=leases,
                     service=service, tokens=tokens, relay=relay,
                     commit_listeners=commit_listeners)


# The name callers used before bootstrap() took overridable parts.


def serve(settings: Settings, routes: "WorkerRoutes | None" = None) -> None:
    """Runs everything on one socketify App and one port until SIGTERM/SIGINT.
    `routes` is set in a worker of `eschat serve --workers N` (interfaces/workers.py)."""
    import asyncio
    import os
    import signal
    import sys

    from socketify import AppListenOptions

    from infrastructure.typing_bus import PostgresTypingBus, TypingBus
    from interfaces.gateway import ChatGateway
    from interfaces.lifecycle import NodeLifecycle
    from interfaces.rest.app import create_app
    from interfaces.socketio import ServerOptions, SocketIOServer, native
    from interfaces.startup import port_message

    container = bootstrap(settings)
    location = container.location
    sio = SocketIOServer(ServerOptions(
        ping_interval_ms=settings.ping_interval_ms, ping_timeout_ms=settings.ping_timeout_ms,
        compression=settings.ws_compression, cors_origins=tuple(settings.cors_origin_list),
        recovery=settings.recovery,
    ))
    typing = (PostgresTypingBus(location.conninfo, settings.effective_node_id)
              if isinstance(location, PostgresLocation) else TypingBus())
    gateway = ChatGateway(sio, container.service, container.tokens, typing,
                          recovery=settings.recovery,
                          inactivity_timeout_s=settings.inactivity_timeout_s)
    container.gateway = gateway
    container.runner.add_listener(gateway.on_feed, delivered=lambda: gateway.fanned_out)
    container.commit_listeners.append(gateway.on_commit)
    rest = create_app(container)
    # Litestar serves HTTP through the ASGI bridge; the Socket.IO layer's native
    # handlers take every WebSocket upgrade and the /socket.io/ polling routes.
    asgi = native.asgi_bridge(rest, websocket=sio.websocket_behavior())
    sio.attach(asgi.server, websocket=False)
    sio.engine.routes = routes
    # Before the writer and the runner start: nothing they hand over is measured from
    # a position that moved meanwhile.
    gateway.start_delivery(container.runner.position)
    container.start()
    # From now on this node delivers: sends wait on how far behind that is.
    container.service.backpressure.activate(gateway.fanned_out)
    loop: asyncio.AbstractEventLoop = native.asyncio_loop(asgi.server)
    # Only if native.install_pump could not take over: socketify then polls libuv
    # every 10 ms when idle, which a quiet chat pays on every message.
    native.set_idle_poll(asgi.server, IDLE_POLL_S)
    typing.start(loop)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    tune_gc()
    lifecycle = NodeLifecycle(container, sio, gateway, asgi.server)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %s: shutting down gracefully", signum)
        loop.call_soon_threadsafe(lifecycle.begin_shutdown)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_listen(config: Any) -> None:
        log.info("eschat listening on http://%s:%s (node %s)", settings.host, settings.port,
                 settings.effective_node_id)

    if routes is not None:
        private = routes.sockets[routes.name]
        if os.path.exists(private):
            os.unlink(private)  # left by this worker's previous life
        # Before the port: socketify keeps the last listen socket, which shutdown closes.
        if not native.listen(asgi, AppListenOptions(domain=private), lambda _c: None):
            _stop(typing, container, f"cannot listen on the worker socket {private}")
    if not native.listen(asgi, AppListenOptions(port=settings.port, host=settings.host),
                         on_listen):  # taken since `eschat serve` checked it
        _stop(typing, container, port_message(settings.host, settings.port))
    lifecycle.start()
    try:
        asgi.run()
    finally:
        typing.stop()
        container.close()
    log.info("eschat stopped")


def _stop(typing: Any, container: Container, message: str) -> None:
    """A start that failed after the threads started: stop them, then say why."""
    from interfaces.startup import StartupError

    typing.stop()
    container.close()
    raise StartupError(message)
