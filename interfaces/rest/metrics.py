"""Prometheus metrics (prometheus_client), on a registry of our own.

Metric objects are module-level so other interfaces can update them; each app
gets its own CollectorRegistry holding them (so building several apps in one
process never registers anything twice). Names:

- `eschat_connections` (gauge): open Socket.IO connections of this process.
  Read from the gateway's namespace (`container.gateway`) at each scrape.
- `eschat_forwarded_requests` (gauge): Engine.IO requests and WebSockets this worker
  relayed, since it started, to the worker owning their session (`--workers N`).
- `eschat_messages_stored_total` (counter): messages stored in the event store
  since this process started, as seen by its projection runner (every node
  follows the whole store, so on several nodes each reports the store's total).
- `eschat_projection_position{projection}` and `eschat_projection_lag_events{projection}`
  (gauges): each projection's tracked position and its distance to the head of
  the event log; `eschat_store_head_position` (gauge).
- `eschat_kafka_relay_lag_events` (gauge): only when a relay with `.lag()` runs.
- `eschat_http_requests_total{method,route,status}` (counter) and
  `eschat_http_request_duration_seconds{method,route}` (histogram); `route` is
  the route template (`/api/chats/{chat_id}`), `unmatched` for unknown paths.
"""

import asyncio
import inspect
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from application.feed import ServerEvent
from infrastructure.eventstore import head_position

if TYPE_CHECKING:
    from interfaces.server import Container

CONNECTIONS = Gauge("eschat_connections", "Open Socket.IO connections of this process",
                    registry=None)
FORWARDED = Gauge("eschat_forwarded_requests",
                  "Engine.IO requests relayed to the worker owning the session", registry=None)
MESSAGES_STORED = Counter("eschat_messages_stored", "Messages stored (seen since start)",
                          registry=None)
PROJECTION_POSITION = Gauge("eschat_projection_position", "Tracked position of a projection",
                            ["projection"], registry=None)
PROJECTION_LAG = Gauge("eschat_projection_lag_events",
                       "Events stored but not yet applied by a projection", ["projection"],
                       registry=None)
STORE_HEAD = Gauge("eschat_store_head_position", "Position of the newest stored event",
                   registry=None)
RELAY_LAG = Gauge("eschat_kafka_relay_lag_events",
                  "Events stored but not yet acknowledged by Kafka", registry=None)
HTTP_REQUESTS = Counter("eschat_http_requests", "HTTP requests served",
                        ["method", "route", "status"], registry=None)
HTTP_DURATION = Histogram("eschat_http_request_duration_seconds", "HTTP request latency",
                          ["method", "route"], registry=None)

_T0 = "eschat_t0"


class Metrics:
    def __init__(self, container: "Container") -> None:
        self._container = container
        self.registry = CollectorRegistry(auto_describe=True)
        for metric in (CONNECTIONS, FORWARDED, MESSAGES_STORED, PROJECTION_POSITION, PROJECTION_LAG,
                       STORE_HEAD, HTTP_REQUESTS, HTTP_DURATION):
            self.registry.register(metric)
        self._relay_registered = False
        if container.gateway is not None:  # what the node delivers: each message once
            container.gateway.add_delivery_listener(count_messages)
        else:
            container.runner.add_listener(count_messages)

    async def render(self) -> bytes:
        """Refreshes the gauges that need the store, then the text format."""
        await asyncio.to_thread(self._refresh_store_gauges)
        await self._refresh_relay()
        gateway = self._container.gateway
        if gateway is not None:  # read on the loop that owns the sockets
            CONNECTIONS.set(len(gateway.ns.sockets))
            routes = gateway.sio.engine.routes
            FORWARDED.set(routes.forwarded if routes is not None else 0)
        return await asyncio.to_thread(generate_latest, self.registry)

    def _refresh_store_gauges(self) -> None:
        runner = self._container.runner
        head = head_position(self._container.store)
        STORE_HEAD.set(head)
        for name, position in dict(runner.positions).items():
            PROJECTION_POSITION.labels(name).set(position)
            PROJECTION_LAG.labels(name).set(max(0, head - position))

    async def _refresh_relay(self) -> None:
        relay = self._container.relay
        lag_of = getattr(relay, "lag", None)
        if not callable(lag_of):
            return
        if inspect.iscoroutinefunction(lag_of):
            lag = await lag_of()
        else:
            lag = await asyncio.to_thread(lag_of)
            if inspect.isawaitable(lag):
                lag = await lag
        RELAY_LAG.set(float(lag))
        if not self._relay_registered:
            self.registry.register(RELAY_LAG)
            self._relay_registered = True


def count_messages(rows: Sequence[tuple[Any, ...]], upto: int | None = None) -> None:
    """The gateway's delivery listener (or the runner's, on a node without sockets):
    feed rows are (position, type, chat_id, user_id, payload)."""
    sent = sum(1 for row in rows if row[1] == ServerEvent.NEW_MESSAGE)
    if sent:
        MESSAGES_STORED.inc(sent)


def record(scope: Scope, status: int) -> None:
    method = scope.get("method", "")
    route = scope.get("path_template") or "unmatched"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    t0 = scope.get(_T0)  # type: ignore[misc]
    if t0 is not None:
        HTTP_DURATION.labels(method, route).observe(time.perf_counter() - t0)


async def before_send(message: Message, scope: Scope) -> None:
    """App-level hook: sees every response, also 404s of unknown paths."""
    if message["type"] == "http.response.start":
        record(scope, int(message["status"]))


class TimingMiddleware(ASGIMiddleware):
    """Marks the start of each routed HTTP request for the latency histogram."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope[_T0] = time.perf_counter()  # type: ignore[literal-required]
        await next_app(scope, receive, send)
