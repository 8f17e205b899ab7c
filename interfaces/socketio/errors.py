"""Exceptions of the protocol layer that applications raise or see."""

from __future__ import annotations

from typing import Any


class ConnectRefused(Exception):
    """Raise from a connect handler to refuse: the client gets CONNECT_ERROR ``data``."""

    def __init__(self, data: dict[str, Any] | str | None = None) -> None:
        super().__init__(data)
        self.data: dict[str, Any] | str = data if data is not None else {"message": "refused"}
