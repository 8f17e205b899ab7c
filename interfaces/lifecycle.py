"""A node's life on the event loop: lease heartbeats, idle connections, and a
graceful shutdown that loses no acknowledged message."""

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from interfaces.gateway import ChatGateway
from interfaces.socketio import SocketIOServer, native

if TYPE_CHECKING:
    from interfaces.server import Container

log = logging.getLogger("eschat.lifecycle")

IDLE_CHECK_S = 1.0
SHUTDOWN_GRACE_S = 10.0


class NodeLifecycle:
    def __init__(self, container: "Container", sio: SocketIOServer, gateway: ChatGateway,
                 app: Any) -> None:
        self.container = container
        self.sio = sio
        self.gateway = gateway
        self.app = app
        settings = container.settings
        self.heartbeat_s = settings.ping_interval_ms / 1000
        # A node that dies stops counting within three heartbeats.
        self.lease_s = 3 * self.heartbeat_s
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        loop = self.sio.engine.loop
        self._tasks = [loop.create_task(self._heartbeats()), loop.create_task(self._idle())]
        if self.container.settings.retention_sweep_s > 0:
            self._tasks.append(loop.create_task(self._retention()))

    async def _retention(self) -> None:
        """The retention sweep, on the node that applies the projections."""
        settings = self.container.settings
        while True:
            await asyncio.sleep(settings.retention_sweep_s)
            if not self.container.runner.leading:
                continue
            try:
                erased = await self.container.service.sweep_retention(
                    datetime.now(UTC), settings.retention_days)
                if erased:
                    log.info("retention sweep: %d messages erased", erased)
            except Exception:
                log.exception("retention sweep failed; retrying next interval")

    async def _heartbeats(self) -> None:
        service = self.container.service
        await service.node_started(self.lease_s)
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await service.node_heartbeat(self.lease_s)
                for node_id in await service.expire_lapsed_nodes():
                    log.info("node %s missed its lease: its connections are closed", node_id)
            except Exception:
                log.warning("heartbeat not stored; retrying next interval")

    async def _idle(self) -> None:
        while True:
            await asyncio.sleep(IDLE_CHECK_S)
            closed = self.gateway.close_idle()
            if closed:
                log.info("closed %d idle connections", closed)

    def begin_shutdown(self) -> None:
        if not self._stopping:
            self._stopping = True
            self.sio.engine.loop.create_task(self.shutdown())

    async def shutdown(self) -> None:
        """Stop accepting, let in-flight commands commit and be acked, close the
        sockets (recording their connections' end), mark the node stopped, then
        stop the loop; `serve` then drains the writer and exits 0."""
        for task in self._tasks:
            task.cancel()
        native.close_listen_socket(self.app)
        pending = self.sio.pending_tasks()
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_S)
        await self.sio.shutdown(grace_s=SHUTDOWN_GRACE_S)
        try:
            await self.container.service.node_stopped()
        except Exception:
            log.warning("could not record the node's stop")
        await asyncio.sleep(0.05)  # let the last frames leave
        self.app.close()

