"""Whether any other process follows this node's commits (PostgreSQL).

A commit NOTIFYs the store's channel so that the node applying the projections wakes at
once, and the leader NOTIFYs after each projection cycle so that followers fan out at
once. A node serving alone has nobody to wake: each NOTIFY cost ~0.25 ms inside the
insert's table lock, and woke this process's own LISTEN thread only for it to find its
own payload (issue 13). So a node that knows it is alone sends none, and its projection
cycles gather more events each (`LONE_LINGER_S`, infrastructure/projection_runner.py):
no follower waits for them to fan its commits out.

"Alone" is decided from two signals, and the default is "not alone":
- the lease check at each heartbeat (`SqlNodeLeases.renew`): no other node holds a live
  lease;
- this process's LISTEN thread heard nothing from another process for `HEARD_HOLD_S`.
  A node that starts commits its NodeStarted event at once, NOTIFYing (it saw a lease),
  so a lone node hears of it well before its next heartbeat.

A wrong "alone" only delays: the other node's runner polls every 0.25 s and reads the
positions and the log itself; nothing is lost or doubled. (Two nodes given the same
ESCHAT_NODE_ID would each see no other lease, and deliver each other's messages at that
poll: one more reason the ids must differ.) A process that never checks
leases (the CLI, tests, a node of an earlier release) always NOTIFYs."""

import time

# How long a NOTIFY from another process keeps this node NOTIFYing: longer than a lease
# (three heartbeats, 75 s by default), so a node that was just heard from counts until
# the lease check sees its row.
HEARD_HOLD_S = 120.0


class Peers:
    def __init__(self, heard_hold_s: float = HEARD_HOLD_S) -> None:
        self._hold_s = heard_hold_s
        self._leased_others = True  # until a lease check says otherwise
        self._heard_until = 0.0

    def alone(self) -> bool:
        """Asked by the writer at each insert and by the runner at each cycle."""
        return not self._leased_others and time.monotonic() >= self._heard_until

    def leases_checked(self, others: bool) -> None:
        """The heartbeat's answer: does another node hold a live lease?"""
        self._leased_others = others

    def heard(self) -> None:
        """A NOTIFY from another process (a node, the CLI) reached this one."""
        self._heard_until = time.monotonic() + self._hold_s
