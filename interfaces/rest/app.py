"""The Litestar application (REST API), served through socketify's ASGI bridge."""

from litestar import Litestar, get

from interfaces.server import Container


def create_app(container: Container) -> Litestar:
    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[health], openapi_config=None)
