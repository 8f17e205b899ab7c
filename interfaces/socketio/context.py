"""Per-event context for handlers (each handler runs in its own task)."""

from contextvars import ContextVar

_ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=False)


def ack_requested() -> bool:
    """Whether the packet being handled asked for an ack. Lets an application
    answer an error through the ack, or with an event when there is none."""
    return _ack_requested.get()


def set_ack_requested(requested: bool) -> None:
    """Set by the server for the handler task it is about to run."""
    _ack_requested.set(requested)
