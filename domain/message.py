"""The Message aggregate: sent, then edited, deleted, pinned, unpinned. Receipts are
not events of the message (a room of 1,000 gave it 2,000): they are high-water marks
per member and chat (domain/receipts.py), and reactions are events of one small
aggregate per message and reacting user (domain/reactions.py). What stays here is
what its sender and the chat's admins do to it, few events; the store snapshots it
all the same, so an edit costs the same whatever the message's history holds.
`Delivered` and `Read` stay declared so that messages stored before receipts were
marks still load, and their receipts still count.

Events after `Sent` name their chat and the message's `seq` (its store position),
so projections apply them without resolving the message again."""

import re
import string
from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, Forbidden, InvalidInput
from domain.ids import message_id_for

MAX_CONTENT = 4000
MAX_EMOJI = 64

# `@userId`: ended by whitespace, punctuation other than . - _, or the end of the text;
# the `@` starts the text or follows something that is not part of a word (not a@b).
_ENDS = "".join(c for c in string.punctuation if c not in "._-")
_MENTION = re.compile(r"(?<![\w@])@([^\s" + re.escape(_ENDS) + r"]{1,128})")


def check_content(content: object) -> str:
    if not isinstance(content, str):
        raise InvalidInput("content must be a string")
    if not content.strip():
        raise InvalidInput("content must not be empty")
    if len(content) > MAX_CONTENT:
        raise InvalidInput(f"content must be at most {MAX_CONTENT} characters")
    return content


def check_emoji(emoji: object) -> str:
    if not isinstance(emoji, str) or not emoji or emoji != emoji.strip():
        raise InvalidInput(f"emoji must be a string of 1-{MAX_EMOJI} characters")
    if len(emoji) > MAX_EMOJI:
        raise InvalidInput(f"emoji must be at most {MAX_EMOJI} characters")
    return emoji


def mentions_in(content: str, members: Iterable[str], author: str) -> list[str]:
    """The members `content` mentions, in the order of their first mention, but its
    author. A token that names nobody is tried without trailing `.`/`-`/`_`
    ("thanks @bob.")."""
    known = set(members) - {author}
    found: list[str] = []
    for match in _MENTION.finditer(content):
        token = match.group(1)
        name = token if token in known else token.rstrip("._-")
        if name in known and name not in found:
            found.append(name)
    return found


class Message(Aggregate):
    class Sent(Aggregate.Created):
        class_version = 2  # v1 had no reply, thread or mentions: upcast_v1_v2
        chat_id: UUID
        sender_id: str
        content: str
        client_message_id: str | None
        reply_to: UUID | None
        thread_id: UUID | None
        mentions: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(reply_to=None, thread_id=None, mentions=[])

    class Delivered(Aggregate.Event):
        """Legacy (release 37b8bd6 and before): one receipt on the message."""

        class_version = 1
        user_id: str

    class Read(Aggregate.Event):
        """Legacy (release 37b8bd6 and before): one read on the message."""

        class_version = 1
        user_id: str

    class Edited(Aggregate.Event):
        """A new version by the sender; every earlier one stays in the log."""

        class_version = 1
        chat_id: UUID
        seq: int
        content: str
        mentions: list[str]

    class Deleted(Aggregate.Event):
        class_version = 1
        chat_id: UUID
        seq: int
        by: str

    class Expired(Aggregate.Event):
        """Older than its chat's retention: erased (content null, `erased: true`)."""

        class_version = 1
        chat_id: UUID
        seq: int

    class Pinned(Aggregate.Event):
        class_version = 1
        chat_id: UUID
        seq: int
        by: str

    class Unpinned(Aggregate.Event):
        class_version = 1
        chat_id: UUID
        seq: int
        by: str

    @event(Sent)
    def __init__(
        self, chat_id: UUID, sender_id: str, content: str, client_message_id: str | None,
        reply_to: UUID | None = None, thread_id: UUID | None = None,
        mentions: list[str] | None = None,
    ) -> None:
        self.chat_id = chat_id
        self.sender_id = sender_id
        self.content: str | None = content
        self.client_message_id = client_message_id
        self.reply_to = reply_to
        self.thread_id = thread_id
        self.mentions = list(mentions or [])
        self.deleted = False
        self.pinned = False

    @staticmethod
    def create_id(sender_id: str, client_message_id: str | None) -> UUID:
        if client_message_id is None:
            return uuid4()
        return message_id_for(sender_id, client_message_id)

    @event(Delivered)
    def _delivered(self, user_id: str) -> None:
        """Old receipts change nothing the writer needs: the read models count them."""

    @event(Read)
    def _read(self, user_id: str) -> None:
        pass

    def require_not_deleted(self) -> None:
        if self.deleted:
            raise Conflict("this message was deleted")
        if getattr(self, "expired", False):
            raise Conflict("this message expired")

    def edit(self, by: str, content: object, members: Iterable[str], seq: int) -> bool:
        """False when the content is the one it has (nothing to store)."""
        if by != self.sender_id:
            raise Forbidden("only the sender may edit a message")
        self.require_not_deleted()
        text = check_content(content)
        if text == self.content:
            return False
        self._edited(chat_id=self.chat_id, seq=seq, content=text,
                     mentions=mentions_in(text, members, by))
        return True

    @event(Edited)
    def _edited(self, chat_id: UUID, seq: int, content: str, mentions: list[str]) -> None:
        self.content = content
        self.mentions = list(mentions)

    def delete(self, by: str, by_admin: bool, seq: int) -> bool:
        """The sender, or an admin of the chat; deleting twice stores nothing."""
        if by != self.sender_id and not by_admin:
            raise Forbidden("only the sender or an admin may delete this message")
        if self.deleted:
            return False
        self._deleted(chat_id=self.chat_id, seq=seq, by=by)
        return True

    @event(Deleted)
    def _deleted(self, chat_id: UUID, seq: int, by: str) -> None:
        self.deleted = True
        self.content = None  # not even the writer's cache keeps it
        self.mentions = []

    def expire(self, seq: int) -> bool:
        """False when already expired (nothing to store)."""
        if getattr(self, "expired", False):
            return False
        self._expired(chat_id=self.chat_id, seq=seq)
        return True

    @event(Expired)
    def _expired(self, chat_id: UUID, seq: int) -> None:
        self.expired = True
        self.content = None
        self.mentions = []

    def pin(self, by: str, seq: int) -> bool:
        self.require_not_deleted()
        if self.pinned:
            return False
        self._pinned(chat_id=self.chat_id, seq=seq, by=by)
        return True

    @event(Pinned)
    def _pinned(self, chat_id: UUID, seq: int, by: str) -> None:
        self.pinned = True

    def unpin(self, by: str, seq: int) -> bool:
        if not self.pinned:
            return False
        self._unpinned(chat_id=self.chat_id, seq=seq, by=by)
        return True

    @event(Unpinned)
    def _unpinned(self, chat_id: UUID, seq: int, by: str) -> None:
        self.pinned = False
