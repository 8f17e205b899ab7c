"""Identifiers: parsing and the deterministic ids that make commands idempotent."""

import re
from functools import lru_cache
from uuid import UUID, uuid5

from domain.errors import InvalidInput

_NAMESPACE = UUID("5f0d8e57-3c1e-4e43-9a3a-6d1c0f7f2b11")
# User ids are strings: a local username, or the `sub` of an external issuer.
_USER_ID = re.compile(r"^[^\s\x00-\x1f]{1,128}$")


def parse_uuid(value: object, field: str) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise InvalidInput(f"{field} must be a UUID string")


def check_user_id(value: object, field: str = "userId") -> str:
    if not isinstance(value, str) or not _USER_ID.match(value):
        raise InvalidInput(f"{field} must be a non-empty string of at most 128 characters")
    return value


def user_aggregate_id(user_id: str) -> UUID:
    return uuid5(_NAMESPACE, "user:" + user_id)


@lru_cache(maxsize=4096)  # a send asks three times (its reads, its command, the aggregate)
def message_id_for(sender_id: str, client_message_id: str) -> UUID:
    """A retried send with the same clientMessageId maps to the same aggregate."""
    return uuid5(_NAMESPACE, f"message:{sender_id}:{client_message_id}")


def node_aggregate_id(node_id: str) -> UUID:
    return uuid5(_NAMESPACE, "node:" + node_id)


def typing_aggregate_id(chat_id: UUID, user_id: str) -> UUID:
    return uuid5(_NAMESPACE, f"typing:{chat_id}:{user_id}")


@lru_cache(maxsize=8192)  # a receipt asks twice (the loop, the writer); SHA-1 each time
def receipts_aggregate_id(chat_id: UUID, user_id: str) -> UUID:
    return uuid5(_NAMESPACE, f"receipts:{chat_id}:{user_id}")


def direct_chat_id(a: str, b: str) -> UUID:
    """One direct chat per pair, whoever opens it: two opens at once name one aggregate,
    so the store's uniqueness of (id, version) lets only one create it."""
    first, second = sorted((a, b))
    return uuid5(_NAMESPACE, f"direct:{first}\x00{second}")


def blocks_aggregate_id(user_id: str) -> UUID:
    return uuid5(_NAMESPACE, "blocks:" + user_id)


def reactions_aggregate_id(message_id: UUID, user_id: str) -> UUID:
    return uuid5(_NAMESPACE, f"reactions:{message_id}:{user_id}")
