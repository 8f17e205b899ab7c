"""/health (liveness), /ready (store reachable, projection lag), /metrics."""

import asyncio
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from infrastructure.eventstore import head_position
from interfaces.rest.schemas import Health, Readiness

READY_TIMEOUT = 2.0


@get("/health", tags=["ops"], sync_to_thread=False)
def health() -> Health:
    """The process is up."""
    return Health(status="ok")


@get("/ready", tags=["ops"],
     responses={503: ResponseSpec(data_container=Readiness, description="not ready")})
async def ready(request: Request[Any, Any, Any]) -> Response[Readiness]:
    """200 when the event store and the read models answer, with each projection's
    lag; 503 otherwise."""
    container = request.app.state.container

    def probe() -> tuple[int, dict[str, int]]:
        return head_position(container.store), container.read_models.positions()

    try:
        head, positions = await asyncio.wait_for(asyncio.to_thread(probe), READY_TIMEOUT)
    except Exception as e:  # unreachable store, of whatever kind: not ready
        return Response(Readiness(status="unavailable", error=f"{type(e).__name__}: {e}"),
                        status_code=503)
    lag = {name: max(0, head - pos) for name, pos in sorted(positions.items())}
    relay = container.relay
    relay_lag = int(relay.lag()) if relay is not None else None  # lag() never blocks
    return Response(Readiness(status="ready", head=head, projections=dict(sorted(
        positions.items())), projection_lag=lag, kafka_relay_lag=relay_lag))


@get("/metrics", tags=["ops"], media_type=MediaType.TEXT)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format."""
    body = await request.app.state.metrics.render()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
