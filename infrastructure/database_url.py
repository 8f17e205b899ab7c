"""Parsing ESCHAT_DATABASE_URL into the event store's and read models' settings."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass(frozen=True)
class SqliteLocation:
    events_path: Path
    readmodels_path: Path


@dataclass(frozen=True)
class PostgresLocation:
    host: str
    port: int
    dbname: str
    user: str
    password: str

    @property
    def conninfo(self) -> str:
        parts = {
            "host": self.host,
            "port": str(self.port),
            "dbname": self.dbname,
            "user": self.user,
            "password": self.password,
        }
        return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


DatabaseLocation = SqliteLocation | PostgresLocation


def parse_database_url(url: str) -> DatabaseLocation:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///./data/eschat.db (relative) or sqlite:////abs/path.db
        path = Path(unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else "")
        if not path.name:
            raise ValueError("sqlite URL needs a file path, e.g. sqlite:///./data/eschat.db")
        # Read models live in a sibling file so projections never wait on the
        # event store's write lock.
        readmodels = path.with_name(path.stem + "-readmodels" + (path.suffix or ".db"))
        return SqliteLocation(events_path=path, readmodels_path=readmodels)
    if parsed.scheme in ("postgresql", "postgres"):
        return PostgresLocation(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            dbname=(parsed.path or "/").lstrip("/") or "postgres",
            user=unquote(parsed.username or "postgres"),
            password=unquote(parsed.password or ""),
        )
    raise ValueError(f"unsupported database URL scheme {parsed.scheme!r}: use sqlite or postgresql")
