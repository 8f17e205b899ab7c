"""Small helpers around socketify's HTTP request/response objects (uWS semantics).

uWS rules honoured here: a request object is only valid during its callback, so
everything is copied out at once; a response may be written later only while it is
not aborted, inside ``cork``, and never again once ended.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

TEXT_PLAIN = "text/plain; charset=UTF-8"
JSON = "application/json"

# Engine.IO error codes, as the reference server sends them.
TRANSPORT_UNKNOWN = (0, "Transport unknown")
UNKNOWN_SID = (1, "Session ID unknown")
BAD_HANDSHAKE_METHOD = (2, "Bad handshake method")
BAD_REQUEST = (3, "Bad request")
FORBIDDEN = (4, "Forbidden")
UNSUPPORTED_PROTOCOL_VERSION = (5, "Unsupported protocol version")


@dataclass(slots=True)
class RequestInfo:
    """What the handshake request told us; kept for the lifetime of the session."""

    url: str
    query: dict[str, str]
    headers: dict[str, str]
    address: str
    time: float  # wall clock, seconds

    @classmethod
    def from_request(cls, res: Any, req: Any) -> RequestInfo:
        url = req.get_url() or "/"
        full = req.get_full_url() or url
        qs = full[len(url) + 1 :] if len(full) > len(url) else ""
        headers = dict(req.get_headers() or {})
        address = headers.get("x-forwarded-for", "").split(",")[0].strip()
        if not address:
            address = res.get_remote_address() or ""
        return cls(url, dict(parse_qsl(qs, keep_blank_values=True)), headers, address, time.time())


def cors_headers(origin: str | None, allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    if not origin or not allowed or ("*" not in allowed and origin not in allowed):
        return []
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true"),
        ("Vary", "Origin"),
    ]


def respond(
    res: Any,
    status: int,
    body: str | bytes,
    content_type: str = TEXT_PLAIN,
    headers: list[tuple[str, str]] | None = None,
) -> None:
    """Write a whole response; a no-op on an aborted response."""
    if res.aborted:
        return

    def write(r: Any) -> None:
        if r.aborted:
            return
        r.write_status(status)  # status first: uWS writes "200 OK" on the first header
        r.write_header("Content-Type", content_type)
        for name, value in headers or ():
            r.write_header(name, value)
        r.end(body)

    res.cork(write)


def respond_error(
    res: Any, error: tuple[int, str], headers: list[tuple[str, str]] | None = None
) -> None:
    code, message = error
    status = 403 if error == FORBIDDEN else 400
    body = json.dumps({"code": code, "message": message}, separators=(",", ":"))
    respond(res, status, body, JSON, headers)
