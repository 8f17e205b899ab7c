"""Feed rows: each stored event as clients see it, written by the projection that
knows its meaning."""

from typing import NamedTuple

import msgspec

from application.feed import FeedPayload, ServerEvent
from application.projections.events import Event

_encode = msgspec.json.Encoder(order="sorted").encode


def to_json(data: object) -> str:
    """Compact JSON with sorted keys."""
    return _encode(data).decode()


class FeedRow(NamedTuple):
    position: int
    source: str
    ordinal: int
    chat_id: str | None
    user_id: str | None
    type: str
    payload: str
    occurred_at: str


class FeedRows:
    """The feed rows one projection produces for a batch, in store order."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[FeedRow] = []
        self._last = (0, -1)  # (position, ordinal) of the last row

    def add(self, event: Event, type_: ServerEvent, payload: FeedPayload,
            chat_id: str | None = None, user_id: str | None = None) -> None:
        position, ordinal = self._last
        # Several rows of one event (a node's users going offline) keep apart by ordinal.
        ordinal = ordinal + 1 if position == event.position else 0
        self._last = (event.position, ordinal)
        self.rows.append(FeedRow(event.position, self.source, ordinal, chat_id, user_id,
                                 type_.value, to_json(payload), event.at))
