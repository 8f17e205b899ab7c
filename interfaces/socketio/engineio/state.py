"""What every session of one Engine.IO server shares (uvicorn's ``ServerState`` idea):
sessions get this instead of a reference back to the server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .options import EngineOptions


@dataclass(slots=True)
class EngineState:
    options: EngineOptions
    loop: asyncio.AbstractEventLoop
