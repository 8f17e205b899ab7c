"""Whether any other node follows this node's commits.

A commit NOTIFYs the store's channel so that the node applying the projections wakes at
once, and the leader NOTIFYs after each projection cycle so that followers fan out at
once. A node serving alone has nobody to wake: each NOTIFY cost ~0.25 ms inside the
insert's table lock, and woke this process's own LISTEN thread only for it to find its
own payload (issue 13). So a node that knows it is alone sends none, and its projection
cycles gather more events each (`LONE_LINGER_S`, infrastructure/projection_runner.py):
no follower waits for them to fan its commits out. (On SQLite, one node per store, only
the latter applies: there is no NOTIFY.)

"Alone" means no other node holds a live lease (infrastructure/presence_leases.py). The
default is "not alone", until the first lease check. The leases are checked:
- at each heartbeat (`SqlNodeLeases.renew`);
- when the LISTEN thread hears a NOTIFY from another process while this node thinks it is
  alone, at most once per `RECHECK_S`. A node that starts writes its lease row, then
  commits its NodeStarted event and NOTIFYs (it sees this node's lease), so a lone node
  knows of it at once, not at its next heartbeat. The CLI NOTIFYs too, but holds no
  lease: it changes nothing.

A wrong "alone" only delays: the other node's runner polls every 0.25 s and reads the
positions and the log itself; nothing is lost or doubled. (Two nodes given the same
ESCHAT_NODE_ID would each see no other lease, and deliver each other's messages at that
poll: one more reason the ids must differ.) A process that never checks leases (the CLI,
tests) always NOTIFYs."""

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# How often a NOTIFY from another process may make a lone node ask the leases again: the
# CLI or a bulk import may NOTIFY thousands of times a second.
RECHECK_S = 1.0


class Peers:
    def __init__(self, recheck_s: float = RECHECK_S) -> None:
        self._recheck_s = recheck_s
        self._leased_others = True  # until a lease check says otherwise
        self._others_alive: Callable[[], bool] | None = None
        self._rechecked_at = -recheck_s

    def alone(self) -> bool:
        """Asked by the writer at each insert and by the runner at each cycle."""
        return not self._leased_others

    def leases_checked(self, others: bool) -> None:
        """A lease check's answer: does another node hold a live lease?"""
        self._leased_others = others

    def recheck_with(self, others_alive: Callable[[], bool]) -> None:
        """How `heard` asks the leases again (the composition root wires it)."""
        self._others_alive = others_alive

    def heard(self) -> None:
        """On the LISTEN thread: a NOTIFY from another process reached this one."""
        if self._leased_others or self._others_alive is None:
            return
        now = time.monotonic()
        if now - self._rechecked_at < self._recheck_s:
            return
        self._rechecked_at = now
        try:
            self._leased_others = self._others_alive()
        except Exception:
            log.warning("could not read the node leases; NOTIFYing until the next check")
            self._leased_others = True
