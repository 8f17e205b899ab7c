"""Settings from the environment (ESCHAT_*), validated with msgspec.

Only the composition root calls `load_settings`, passing it the environment."""

import os
import re
import socket
from collections.abc import Mapping
from typing import Annotated

import msgspec

from application.projections.history import RECEIPTS_ROOM_MAX
from domain.chat import MAX_RETENTION_DAYS

PREFIX = "ESCHAT_"


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    database_url: str = "sqlite:///./data/eschat.db"
    kafka_bootstrap: str | None = None
    kafka_topic: str = "chat-messages"
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithms: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    host: str = "0.0.0.0"
    port: int = 4000
    cors_origins: str = "http://localhost:3000"
    ping_interval_ms: int = 25000
    ping_timeout_ms: int = 20000
    inactivity_timeout_s: float = 60.0
    node_id: str = ""
    recovery: bool = True
    ws_compression: bool = True
    data_dir: str = "./data"
    token_ttl_s: int = 3600
    workers: int = 1
    receipts_room_max: int = RECEIPTS_ROOM_MAX
    # Sends are refused (`unavailable`, `retryAfterMs`) while this node's oldest acked,
    # undelivered event is older than this; 0 turns the refusal off.
    delivery_budget_ms: int = 300
    # Messages of chats without a retentionDays of their own are erased after this many
    # days by the retention sweep; unset: kept forever.
    retention_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_RETENTION_DAYS)] | None = None
    # `serve` sweeps every this many seconds (on the one node that applies the
    # projections); 0: never (run `eschat retention sweep` from cron instead).
    retention_sweep_s: Annotated[float, msgspec.Meta(ge=0)] = 3600.0

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def effective_node_id(self) -> str:
        return self.node_id or f"{socket.gethostname()}-{os.getpid()}"


class SettingsError(ValueError):
    pass


def load_settings(environ: Mapping[str, str], **overrides: object) -> Settings:
    """Reads ESCHAT_<FIELD> variables; `overrides` (CLI flags) win over them."""
    raw: dict[str, object] = {}
    for field in Settings.__struct_fields__:
        value = environ.get(PREFIX + field.upper())
        if value is not None and value != "":
            raw[field] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as e:
        # Name the variable the user set, not msgspec's path (`$.port`).
        message = re.sub(r"`\$\.(\w+)`", lambda m: PREFIX + m.group(1).upper(), str(e))
        raise SettingsError(f"invalid setting: {message}") from e
