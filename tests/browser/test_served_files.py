"""`/` and its assets from a real `eschat serve`, over HTTP: content types,
caching (hashed assets for a year, the page revalidated), gzip, and that the
REST API, /schema and /health are where they were."""

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from interfaces.web.site import STATIC
from tests.conftest import ServerProcess, start_server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("site")
    server = start_server(folder, f"sqlite:///{folder}/eschat.db")
    yield server
    server.stop()


def assets_named_by(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', page)


def test_the_page_is_html_revalidated_and_locked_to_its_origin(site: ServerProcess) -> None:
    r = httpx.get(site.url + "/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.text == (STATIC / "index.html").read_text()
    again = httpx.get(site.url + "/", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_hashed_assets_are_cached_for_a_year_with_their_type(site: ServerProcess) -> None:
    paths = assets_named_by(httpx.get(site.url + "/").text)
    assert any(p.endswith(".js") for p in paths) and any(p.endswith(".css") for p in paths)
    for path in paths:
        r = httpx.get(site.url + path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        kind = "text/javascript" if path.endswith(".js") else "text/css"
        assert r.headers["content-type"] == f"{kind}; charset=utf-8"
        assert r.content == (STATIC / path.lstrip("/")).read_bytes()


def test_text_assets_go_gzipped_to_clients_that_take_it(site: ServerProcess) -> None:
    js = next(p for p in assets_named_by(httpx.get(site.url + "/").text) if p.endswith(".js"))
    raw = (STATIC / js.lstrip("/")).read_bytes()
    packed = httpx.get(site.url + js, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(raw) // 2
    assert packed.content == raw  # httpx decodes it
    plain = httpx.get(site.url + js, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == raw


def test_an_unknown_asset_is_a_404_not_the_page(site: ServerProcess) -> None:
    r = httpx.get(site.url + "/assets/index-missing.js")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("path, check", [
    ("/health", lambda r: r.json() == {"status": "ok"}),
    ("/schema/openapi.json", lambda r: "/api/chats" in r.json()["paths"]
     and "/" not in r.json()["paths"] and "/assets/{name}" not in r.json()["paths"]),
    ("/api/chats", lambda r: r.status_code == 401),
    ("/metrics", lambda r: "eschat_http_requests_total" in r.text),
    ("/socket.io/?EIO=4&transport=polling", lambda r: r.text.startswith("0{")),
])
def test_the_rest_of_the_port_is_unchanged(
    site: ServerProcess, path: str, check: Callable[[httpx.Response], bool]
) -> None:
    r = httpx.get(site.url + path)
    assert check(r), (path, r.status_code, r.text[:200])
