"""`user-online` / `user-offline` to every other online user who shares a chat with
the user, coalesced.

A reconnect storm (a deploy, a network blip) makes every user of a room go offline
and online again. Sent one change at a time, that is 2·N² frames in a room of N, plus
N chat lookups and N publishes on the loop while acks and deliveries wait. So:
- an offline is held for a grace (`OFFLINE_GRACE_S`); a user back within it was
  never seen to leave, and nothing at all is sent;
- an online waits a short window (`WINDOW_S`); a user gone again within it was never
  seen to come, and nothing is sent either;
- the users due together have their chats looked up in one query;
- publishing yields to the loop every `PER_TURN` users, so sends and acks
  interleave with a long fan-out.

Changes go out one flush at a time, in the order they became due, so a user's
online and offline never overtake each other."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from application.feed import ServerEvent

log = logging.getLogger("eschat.presence")
WINDOW_S = 0.05
OFFLINE_GRACE_S = 1.0
PER_TURN = 50

ChatsOf = Callable[[list[str]], Awaitable[dict[str, list[str]]]]
Publish = Callable[[str, dict[str, Any], list[str]], None]  # event, payload, chat ids


class PresenceFanOut:
    def __init__(self, chats_of: ChatsOf, publish: Publish,
                 loop: Callable[[], asyncio.AbstractEventLoop],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._chats_of = chats_of
        self._publish = publish
        self._loop = loop
        self._clock = clock
        # user -> (when due, event, payload): one pending change per user, at most.
        self._due: dict[str, tuple[float, str, dict[str, Any]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flushing = False
        self._task: asyncio.Task[None] | None = None
        self.sent = 0  # changes published (tests, metrics)
        self.cancelled = 0  # changes that cancelled each other out

    def changed(self, event: str, payload: dict[str, Any]) -> None:
        """On the loop: the feed's presence row for a user."""
        user = payload["userId"]
        pending = self._due.pop(user, None)
        if pending is not None and pending[1] != event:
            self.cancelled += 2  # gone and back (or come and gone) before anyone was told
            return
        delay = OFFLINE_GRACE_S if event == ServerEvent.USER_OFFLINE else WINDOW_S
        self._due[user] = (self._clock() + delay, event, payload)
        self._arm()

    def _arm(self) -> None:
        if self._timer is None and self._due and not self._flushing:
            when = min(due for due, _, _ in self._due.values())
            self._timer = self._loop().call_later(max(0.0, when - self._clock()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._flushing = True
        # Held: the loop keeps only a weak reference to a task.
        self._task = self._loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            await self._flush_due()
        except Exception:  # the read models unreachable: these changes are not told
            log.exception("presence fan-out failed")
        finally:
            self._flushing = False
            self._arm()

    async def _flush_due(self) -> None:
        while True:
            now = self._clock()
            due = [(user, event, payload) for user, (when, event, payload)
                   in sorted(self._due.items(), key=lambda item: item[1][0])
                   if when <= now]
            if not due:
                return
            for user, _, _ in due:
                del self._due[user]
            chats = await self._chats_of([user for user, _, _ in due])
            for i, (user, event, payload) in enumerate(due, 1):
                self._publish(event, payload, chats.get(user, []))
                self.sent += 1
                if i % PER_TURN == 0:
                    await asyncio.sleep(0)
