"""The composition root: reads settings, builds the store, the applications,
the projections and the interfaces, and wires them. Nothing else reads the
environment."""

import logging
from dataclasses import dataclass, field
from typing import Any

from application.service import ChatService
from application.writer import GroupCommitWriter
from infrastructure.database_url import PostgresLocation, parse_database_url
from infrastructure.eventstore import ChatEventStore, open_event_store, postgres_channel
from infrastructure.passwords import Argon2Hasher
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.readmodels.chats import ChatsProjection
from infrastructure.readmodels.database import Database, open_database
from infrastructure.readmodels.history import HistoryProjection
from infrastructure.readmodels.presence import PresenceProjection
from infrastructure.readmodels.queries import SqlReadModels
from infrastructure.settings import Settings
from infrastructure.tokens import ExternalIssuer, TokenService, dev_secret

log = logging.getLogger("eschat")


@dataclass
class Container:
    settings: Settings
    store: ChatEventStore
    db: Database
    runner: ProjectionRunner
    writer: GroupCommitWriter
    read_models: SqlReadModels
    service: ChatService
    tokens: TokenService
    extras: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        self.writer.start()
        self.runner.start()

    def close(self) -> None:
        """Finishes queued commands first: nothing acknowledged is dropped."""
        self.writer.stop()
        self.runner.stop()
        self.db.close()
        self.store.close()


def projections() -> list[Any]:
    return [HistoryProjection(), ChatsProjection(), PresenceProjection()]


def build_tokens(settings: Settings) -> TokenService:
    secret = settings.jwt_secret or dev_secret(settings.data_dir)
    external = None
    if settings.jwt_public_key:
        algorithms = [a.strip() for a in (settings.jwt_algorithms or "RS256").split(",")]
        external = ExternalIssuer(public_key=settings.jwt_public_key, algorithms=algorithms,
                                  issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return TokenService(secret, external)


def build_container(settings: Settings) -> Container:
    location = parse_database_url(settings.database_url)
    store = open_event_store(location)
    db = open_database(location)
    listen = (location.conninfo, postgres_channel(store)) if isinstance(
        location, PostgresLocation) else (None, None)
    runner = ProjectionRunner(store, db, projections(), listen_conninfo=listen[0],
                              listen_channel=listen[1])
    writer = GroupCommitWriter(store, on_commit=runner.wake)
    read_models = SqlReadModels(db)
    service = ChatService(store, writer, read_models, runner, Argon2Hasher(),
                          settings.effective_node_id)
    return Container(settings=settings, store=store, db=db, runner=runner, writer=writer,
                     read_models=read_models, service=service, tokens=build_tokens(settings))


def serve(settings: Settings) -> None:
    """Runs everything on one socketify App and one port until stopped."""
    from socketify import AppListenOptions
    from socketify.asgi import _ASGI

    from interfaces.rest.app import create_app

    container = build_container(settings)
    container.start()
    rest = create_app(container)
    # Litestar serves HTTP through the ASGI bridge; native handlers (added by
    # the Socket.IO layer) take the WebSocket upgrades and /socket.io/ polling.
    asgi = _ASGI(rest, websocket=False, lifespan=False)

    def on_listen(config: Any) -> None:
        log.info("eschat listening on http://%s:%s", settings.host, settings.port)

    asgi.listen(AppListenOptions(port=settings.port, host=settings.host), on_listen)
    try:
        asgi.run()
    finally:
        container.close()
