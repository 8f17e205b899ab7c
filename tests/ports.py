"""Ports for the servers and brokers the tests start.

`bind(("127.0.0.1", 0))` hands out a port from the kernel's ephemeral range, which every
outgoing connection draws its local port from too. Between a test picking such a port
and its server binding it, a client socket or a PostgreSQL connection of the other
pytest-xdist worker could take it: a CI run failed so ("Failed to listen on port
49723"). These ports lie below that range, where no outgoing connection goes, in a slice
of their own for each worker, and each is checked free by binding it first."""

import os
import random
import socket
from pathlib import Path

LOWEST = 20_000


def _below_ephemeral() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), index + 1)
    size = (_below_ephemeral() - LOWEST) // workers
    return range(LOWEST + index * size, LOWEST + (index + 1) * size)


_PORTS = _slice()
# A new session starts at a random place in its slice: a server a killed run left behind
# holds its port, and the bind below skips it, but no need to walk past all of them.
_next = random.randrange(len(_PORTS)) if len(_PORTS) > 0 else 0


def free_port() -> int:
    """A port of this worker's slice that nothing holds now, never the same one twice in
    a row. Falls back to the kernel's choice where the slice is empty."""
    global _next
    for _ in range(len(_PORTS)):
        port = _PORTS[_next % len(_PORTS)]
        _next += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # held by a listener, or by connections lingering in TIME_WAIT
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
