"""Start-up checks of `eschat serve` and one-line explanations of start-up failures.

A wrong setting or an unreachable service at start ends a command with one line that
says what is wrong and how to fix it, and exit code 2 (CONTRACT.md), never a traceback.
"""

import errno
import os
import re
import socket
import sqlite3
from urllib.parse import urlparse

import psycopg

from infrastructure.database_url import PostgresLocation, SqliteLocation, parse_database_url
from infrastructure.settings import Settings

CONNECT_TIMEOUT_S = 5


class StartupError(Exception):
    """A setting or a service is wrong at start; the message says what and how to fix it."""


def check_database_url(url: str) -> None:
    """The URL names a backend we have (no connection is made)."""
    _location(url)


def check_database(url: str) -> None:
    location = _location(url)
    if isinstance(location, PostgresLocation):
        try:
            psycopg.connect(location.conninfo, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as e:
            raise StartupError(_postgres_message(location, e)) from None
    else:
        _check_sqlite(location)


def check_port(host: str, port: int) -> None:
    """Binds the address once, without SO_REUSEPORT, so any other listener shows."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise StartupError(port_message(host, port, e.errno)) from None


def port_message(host: str, port: int, code: int | None = errno.EADDRINUSE) -> str:
    if code == errno.EACCES:
        return (f"not allowed to listen on port {port}: choose a port above 1023 with "
                "ESCHAT_PORT (or --port)")
    if code in (errno.EADDRNOTAVAIL, socket.EAI_NONAME):
        return f"cannot listen on host {host!r}: set ESCHAT_HOST (or --host) to an address here"
    return (f"port {port} on {host} is already in use: stop the other process or choose "
            "another port with ESCHAT_PORT (or --port)")


def preflight(settings: Settings) -> None:
    """What `eschat serve` checks before it starts anything."""
    check_database(settings.database_url)
    try:
        check_port(settings.host, int(settings.port))
    except socket.gaierror:
        raise StartupError(port_message(settings.host, settings.port, socket.EAI_NONAME)) from None


def explain(error: BaseException) -> str | None:
    """One line for a failure at start (None: not a start-up failure; let it raise)."""
    if isinstance(error, StartupError):
        return str(error)
    if isinstance(error, psycopg.OperationalError):
        return f"cannot reach the database: {_first_line(error)}; check ESCHAT_DATABASE_URL"
    if isinstance(error, sqlite3.OperationalError):
        return f"cannot open the SQLite database: {error}; check ESCHAT_DATABASE_URL"
    return None


def _location(url: str) -> PostgresLocation | SqliteLocation:
    try:
        return parse_database_url(url)
    except ValueError as e:
        scheme = urlparse(url).scheme
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise StartupError(
                f"ESCHAT_DATABASE_URL has an unknown scheme {scheme + '://' if scheme else ''!r}:"
                " use sqlite:///./data/eschat.db or postgresql://user:pass@host:5432/db"
            ) from None
        raise StartupError(f"ESCHAT_DATABASE_URL is not usable: {e}") from None


def _check_sqlite(location: SqliteLocation) -> None:
    path = location.events_path
    try:
        if path.exists():  # opened, not created: the store creates it with its schema
            sqlite3.connect(f"file:{path}?mode=rw", uri=True).close()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(path.parent, os.W_OK):
                raise PermissionError(f"cannot write in {path.parent}")
    except (OSError, sqlite3.Error) as e:
        raise StartupError(f"cannot open the SQLite database {location.events_path}: {e};"
                           " check ESCHAT_DATABASE_URL and the folder's permissions") from None


def _postgres_message(location: PostgresLocation, error: psycopg.Error) -> str:
    where = f"{location.host}:{location.port}/{location.dbname}"
    return (f"cannot connect to PostgreSQL at {where} as {location.user!r}: "
            f"{_first_line(error)}; start PostgreSQL or fix ESCHAT_DATABASE_URL")


def _first_line(error: BaseException) -> str:
    """libpq's reason without the address it already names ("Connection refused")."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    reason = re.sub(r"^connection failed: (connection to server at .*? failed: )?", "", lines[0])
    return " ".join(reason.split())
