"""Errors on the wire: one body shape for every failure, status codes from the
contract, and the OpenAPI description of them.

DomainError codes map to 400/404/403/409, Unavailable (and a store that cannot
be reached) to 503; validation failures name the offending field. Bad input
never becomes a 500: only a bug does, and it is logged."""

import logging
import re
import sqlite3
from typing import Any

import msgspec
import psycopg
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from application.backpressure import Overloaded
from application.writer import Unavailable
from domain.errors import DomainError
from interfaces.rest.login_limits import LoginThrottled

log = logging.getLogger(__name__)

STATUS_OF_CODE = {"invalid": 400, "not_found": 404, "forbidden": 403, "conflict": 409,
                  "unauthorized": 401, "unavailable": 503, "gone": 410}
CODE_OF_STATUS = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 409: "conflict", 413: "too_large",
                  415: "unsupported_media_type", 429: "rate_limited", 503: "unavailable",
                  410: "gone"}


class ErrorBody(msgspec.Struct, rename="camel", kw_only=True):
    status_code: int
    error: str
    code: str
    field: str | None = None


def error_response(
    status: int, message: str, code: str | None = None, field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    body = ErrorBody(status_code=status, error=message,
                     code=code or CODE_OF_STATUS.get(status, "error"), field=field)
    return Response(content=body, status_code=status, media_type=MediaType.JSON,
                    headers=headers)


_LEADING_FIELD = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*) must\b")
_MSGSPEC_PATH = re.compile(r"at `\$\.?([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_MISSING_PARAM = re.compile(r"Missing required \w+ parameter '([^']+)'")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def field_of_domain_message(message: str) -> str | None:
    match = _LEADING_FIELD.match(message)
    return match.group(1) if match else None


def on_domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = STATUS_OF_CODE.get(exc.code, 400)
    field = field_of_domain_message(exc.message) if status == 400 else None
    return error_response(status, exc.message, exc.code, field)


def on_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("store unavailable: %s", exc)
    return error_response(503, "the store is unavailable, try again", "unavailable",
                          headers={"Retry-After": "1"})


def on_overloaded(_: Request[Any, Any, Any], exc: Overloaded) -> Response[Any]:
    """Delivery is behind (application/backpressure.py): nothing was stored."""
    seconds = -(-exc.retry_after_ms // 1000)
    return error_response(503, str(exc), "unavailable",
                          headers={"Retry-After": str(seconds)})


def on_login_throttled(_: Request[Any, Any, Any], exc: LoginThrottled) -> Response[Any]:
    return error_response(429, str(exc), "rate_limited",
                          headers={"Retry-After": str(exc.retry_after_s)})


def on_validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's msgspec validation: name the field (`memberIds[0]`, `content`...)."""
    field: str | None = None
    message = exc.detail
    extra = exc.extra if isinstance(exc.extra, list) else []
    if extra and isinstance(extra[0], dict):
        first = extra[0]
        text = str(first.get("message", ""))
        message = text or message
        key = first.get("key")
        found = _MSGSPEC_PATH.search(text)
        missing = _MISSING.search(text)
        if missing:
            prefix = found.group(1) if found else ""
            field = f"{prefix}.{missing.group(1)}" if prefix else missing.group(1)
        elif found:
            path = found.group(1)
            field = f"{key}{path}" if key and key != "data" and path.startswith("[") else path
        elif key and key != "data":
            field = _camel(str(key))  # a query parameter's wire name (as_of -> asOf)
        if field:
            message = f"{field}: {message}"
    elif missing_param := _MISSING_PARAM.search(message):
        field = missing_param.group(1)
    elif message.startswith("JSON is malformed"):
        field = "body"
    return error_response(400, message, "invalid", field)


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="eschat"')
    field = "body" if exc.status_code == 400 and "malformed" in exc.detail else None
    return error_response(exc.status_code, exc.detail, field=field, headers=headers or None)


def on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal server error", "internal")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    Overloaded: on_overloaded,
    Unavailable: on_unavailable,
    LoginThrottled: on_login_throttled,
    psycopg.OperationalError: on_unavailable,
    sqlite3.OperationalError: on_unavailable,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI descriptions of error responses, each with the ErrorBody shape."""
    text = {400: "invalid input; `field` names the offending field",
            401: "missing, invalid or expired bearer token",
            403: "not a member of this chat",
            404: "unknown id",
            409: "conflict (already exists)",
            410: "the invite expired or was used up",
            429: "too many failed logins for this account or address; see `Retry-After`",
            503: "the store is unavailable"}
    return {s: ResponseSpec(data_container=ErrorBody, description=text[s]) for s in statuses}
