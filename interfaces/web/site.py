"""`/` and its assets: the web client's built files (webclient/ builds them into
./static), answered by the REST app on the same port as Socket.IO.

Files are read once, at start (they change only with a release); text files
are also kept gzipped. Vite names assets by content hash, so they are cached
for a year; `index.html` names the current ones and is revalidated each time."""

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException

STATIC = Path(__file__).resolve().parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TEXT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
              ".svg": "image/svg+xml", ".json": "application/json", ".txt": "text/plain",
              ".map": "application/json"}
GZIP_MIN_BYTES = 1024
# The client needs nothing from elsewhere: scripts, styles and sockets from this origin.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str

    @classmethod
    def read(cls, path: Path) -> "StaticFile":
        body = path.read_bytes()
        suffix = path.suffix.lower()
        text = TEXT_TYPES.get(suffix)
        # Litestar adds "; charset=utf-8" to text/* itself.
        media_type = text or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        packed = (gzip.compress(body, 9, mtime=0)
                  if text is not None and len(body) >= GZIP_MIN_BYTES else None)
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return cls(body, packed if packed and len(packed) < len(body) else None, media_type, etag)


def accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def answer(found: StaticFile, request: Request[Any, Any, Any], cache_control: str,
           extra: dict[str, str] | None = None) -> Response[bytes]:
    headers = {"Cache-Control": cache_control, "ETag": found.etag, **(extra or {})}
    if found.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if found.etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, headers=headers)
    body = found.body
    if found.gzipped is not None and accepts_gzip(request):
        body = found.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=found.media_type, headers=headers)


def web_client_router(folder: Path = STATIC) -> Router:
    index_path = folder / "index.html"
    index = StaticFile.read(index_path) if index_path.is_file() else None
    assets_dir = folder / "assets"
    assets = ({p.name: StaticFile.read(p) for p in assets_dir.iterdir() if p.is_file()}
              if assets_dir.is_dir() else {})

    @get("/", include_in_schema=False, sync_to_thread=False)
    def page(request: Request[Any, Any, Any]) -> Response[bytes]:
        if index is None:
            return Response(b"The web client is not built: npm ci && npm run build in webclient/\n",
                            status_code=503, media_type="text/plain; charset=utf-8")
        return answer(index, request, REVALIDATE, PAGE_HEADERS)

    @get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
    def asset(name: str, request: Request[Any, Any, Any]) -> Response[bytes]:
        found = assets.get(name)
        if found is None:
            raise NotFoundException(f"no asset {name!r}")
        return answer(found, request, IMMUTABLE, {"X-Content-Type-Options": "nosniff"})

    return Router(path="/", route_handlers=[page, asset])
