"""The Litestar application (REST API), served through socketify's ASGI bridge
on the same port as Socket.IO. `create_app(container)` is the factory the
composition root calls."""

from typing import TYPE_CHECKING, Any
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
from interfaces.rest.controllers.chat_admin import (
    BlockController,
    ChatAdminController,
    InviteController,
)
from interfaces.rest.controllers.chats import ChatController
from interfaces.rest.controllers.messages import MessageController
from interfaces.rest.controllers.messages_over_time import MessagesOverTimeController
from interfaces.rest.controllers.ops import health, metrics, ready
from interfaces.rest.controllers.privacy import PrivacyController
from interfaces.rest.controllers.sync import EventController, PresenceController
from interfaces.rest.errors import EXCEPTION_HANDLERS
from interfaces.rest.login_limits import LoginLimiter
from interfaces.rest.metrics import Metrics, TimingMiddleware, before_send
from interfaces.web.site import web_client_router

if TYPE_CHECKING:
    from interfaces.server import Container

MAX_BODY = 1024 * 1024


class RestApp(Litestar):
    """Litestar, adapted to socketify's ASGI bridge (0.0.31):
    - its `query_string` keeps the leading `?` (which would turn `?limit=5` into a
      parameter named `?limit`) and its `path` is not percent-decoded
      (`/members/a%40b` would name user `a%40b`);
    - nothing but a native handle refers to a request's task and body queue, so
      the garbage collector may free them mid-request; the next body chunk then
      crashes the whole process (ffi.from_handle on a collected object). We hold
      the request's callables until it is answered, and read the whole body first
      so no chunk arrives after the answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        normalize_scope(scope)
        held = (receive, send)
        _IN_FLIGHT.add(held)
        try:
            await super().__call__(scope, await read_whole_body(receive), send)
        finally:
            _IN_FLIGHT.discard(held)


_IN_FLIGHT: set[tuple[Receive, Send]] = set()


async def read_whole_body(receive: Receive) -> Receive:
    """Drains the request body (keeping at most MAX_BODY + 1 bytes, enough for
    Litestar to answer 413) and returns a `receive` that replays it."""
    chunks: list[bytes] = []
    kept = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            first: Any = message  # the client went away
            break
        body = message.get("body", b"")
        if kept <= MAX_BODY:
            chunks.append(body[: MAX_BODY + 1 - kept])
            kept += len(chunks[-1])
        if not message.get("more_body", False):
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            break
    replayed = False

    async def replay() -> Any:
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return replay


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


def create_app(container: "Container") -> Litestar:
    service = container.service
    settings = container.settings
    state = State({
        "container": container,
        "authenticator": Authenticator(container.tokens, service),
        "login_limiter": LoginLimiter(),
        "metrics": Metrics(container),
    })
    cors = CORSConfig(allow_origins=settings.cors_origin_list, allow_credentials=True,
                      allow_methods=["*"], allow_headers=["*"], expose_headers=[
                          "Idempotent-Replayed", "Retry-After"])
    return RestApp(
        route_handlers=[health, ready, metrics, AuthController, ChatController,
                        MessageController, MessagesOverTimeController, PresenceController,
                        EventController,
                        web_client_router(), ChatAdminController, InviteController,
                        BlockController, PrivacyController],
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
