"""The Litestar application (REST API), served through socketify's ASGI bridge
on the same port as Socket.IO. `create_app(container)` is the factory the
composition root calls."""

from typing import Any
from urllib.parse import unquote

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Receive, Scope, Send

from interfaces.rest.auth import SECURITY_SCHEME, Authenticator, provide_me
from interfaces.rest.controllers.auth import AuthController
from interfaces.rest.controllers.chats import ChatController
from interfaces.rest.controllers.messages import MessageController
from interfaces.rest.controllers.ops import health, metrics, ready
from interfaces.rest.controllers.sync import EventController, PresenceController
from interfaces.rest.errors import EXCEPTION_HANDLERS
from interfaces.rest.metrics import Metrics, TimingMiddleware, before_send

MAX_BODY = 1024 * 1024


class RestApp(Litestar):
    """Litestar, with the scope normalized where socketify's ASGI bridge (0.0.31)
    differs from the ASGI spec: its `query_string` keeps the leading `?` (which
    would turn `?limit=5` into a parameter named `?limit`) and its `path` is not
    percent-decoded (`/members/a%40b` would name user `a%40b`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            normalize_scope(scope)
        await super().__call__(scope, receive, send)


def normalize_scope(scope: Scope) -> None:
    if scope["query_string"][:1] == b"?":
        scope["query_string"] = scope["query_string"][1:]
    path = scope["path"]
    if "%" in path and scope.get("raw_path") == path.encode():
        scope["path"] = unquote(path, errors="replace")


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="eschat",
        version="0.1.0",
        description="REST side of eschat. Authenticate with `Authorization: Bearer <jwt>` "
                    "(from /api/auth/login or `eschat token USER`).",
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin()],
        components=Components(security_schemes={
            SECURITY_SCHEME: SecurityScheme(type="http", scheme="bearer", bearer_format="JWT",
                                            description="a JWT whose `sub` is the user id"),
        }),
    )


def create_app(container: Any) -> Litestar:
    service = container.service
    settings = container.settings
    state = State({
        "container": container,
        "authenticator": Authenticator(container.tokens, service),
        "metrics": Metrics(container),
    })
    cors = CORSConfig(allow_origins=settings.cors_origin_list, allow_credentials=True,
                      allow_methods=["*"], allow_headers=["*"], expose_headers=[
                          "Idempotent-Replayed", "Retry-After"])
    return RestApp(
        route_handlers=[health, ready, metrics, AuthController, ChatController,
                        MessageController, PresenceController, EventController],
        dependencies={
            "service": Provide(lambda: service, sync_to_thread=False),
            "me": Provide(provide_me),
        },
        state=state,
        cors_config=cors,
        openapi_config=openapi_config(),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[TimingMiddleware()],
        before_send=[before_send],
        request_max_body_size=MAX_BODY,
    )
