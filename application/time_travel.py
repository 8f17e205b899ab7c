"""Time travel (ChatService inherits it): a chat and its history as they stood right
after a store position (`?asOf=`), for users who were members then.

Nothing is replayed from the beginning. The chat is its aggregate at the version it
had at that position (a snapshot and the events after it); a page of history takes
the ids of the messages sent up to the position from the history read model's
(chat, seq) index, restricted to the caller's spans of membership, then replays
only those messages' own events up to the position (sent, edits, delete, pins; their
reactions through the position index `rm_reaction_log`), decoded as every projection
decodes stored events. Receipts come from the positions at which marks moved
(`rm_mark_log`), thread counters from the replies sent up to the position.

What the caller never sees: messages sent while they were not a member (before they
joined, or while they were away between a removal and a re-adding), and reads of
users whose readReceipts are (or were, when they read) off."""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from application.projections.events import (
    MessageDeleted,
    MessageEdited,
    MessageReceipt,
    MessageSent,
    PinChanged,
    ProjectedEvent,
    ReactionChanged,
)
from application.views import ChatView, MessageView, iso
from domain.chat import Chat
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.ids import parse_uuid

READ_YOUR_WRITES_TIMEOUT = 5.0
MAX_PAGE = 200

Span = tuple[int, int | None]  # joined at, left at (None: still a member)


class ChatPast(Protocol):
    """What time travel reads: the event store and the read models' position indexes."""

    def head(self) -> int: ...

    def chat_at(self, chat_id: UUID, position: int) -> Chat | None:
        """The chat as its events up to `position` leave it (None: not created yet)."""
        ...

    def spans(self, chat_id: str, user_id: str, upto: int) -> list[Span]:
        """The user's spans of membership that began at or before `upto`."""
        ...

    def page(self, chat_id: str, thread_id: str | None, ranges: list[tuple[int, int]],
             before: int | None, after: int | None, limit: int
             ) -> tuple[list[tuple[str, int]], bool]:
        """(message id, seq) of a page within the seq ranges, oldest first, and whether
        a message within them is older than the page."""
        ...

    def message_events(self, message_ids: list[str], upto: int) -> list[ProjectedEvent]:
        """The messages' own events and their reactions' up to `upto`, in store order."""
        ...

    def thread_counts(self, root_ids: list[str], upto: int) -> dict[str, tuple[int, str]]:
        """root id -> (replies sent up to `upto`, the last one's time)."""
        ...

    def marks(self, chat_id: str, upto: int) -> dict[str, tuple[int, int]]:
        """user -> (read up to seq, delivered up to seq) as they stood at `upto`."""
        ...

    def receipts_hidden(self, user_ids: Iterable[str]) -> set[str]: ...


@dataclass
class _Replayed:
    sent: MessageSent
    content: str | None
    mentions: list[str]
    edited_at: str | None = None
    deleted: bool = False
    pinned: bool = False
    reactions: dict[tuple[str, str], int] = field(default_factory=dict)  # (emoji, user) -> pos
    delivered: set[str] = field(default_factory=set)  # per-message receipts (old releases)
    read: set[str] = field(default_factory=set)


def replay(events: Iterable[ProjectedEvent]) -> dict[str, _Replayed]:
    """Each message as its events (in store order) leave it."""
    state: dict[str, _Replayed] = {}
    for e in events:
        if isinstance(e, MessageSent):
            state[e.message_id] = _Replayed(e, e.content, list(e.mentions))
            continue
        m = state.get(getattr(e, "message_id", ""))
        if m is None:
            continue
        if isinstance(e, MessageEdited) and not m.deleted:
            m.content, m.mentions, m.edited_at = e.content, list(e.mentions), e.at
        elif isinstance(e, MessageDeleted):
            m.content, m.mentions, m.deleted = None, [], True
        elif isinstance(e, PinChanged):
            m.pinned = e.pinned
        elif isinstance(e, ReactionChanged):
            if e.added:
                m.reactions.setdefault((e.emoji, e.user_id), e.position)
            else:
                m.reactions.pop((e.emoji, e.user_id), None)
        elif isinstance(e, MessageReceipt):
            (m.read if e.kind == "read" else m.delivered).add(e.user_id)
    return state


def _reactions(given: dict[tuple[str, str], int]) -> dict[str, list[str]]:
    """Each emoji in the order it was first given, its users in that order too."""
    out: dict[str, list[str]] = {}
    for (emoji, user), _ in sorted(given.items(), key=lambda kv: kv[1]):
        out.setdefault(emoji, []).append(user)
    return out


def views(order: list[tuple[str, int]], state: dict[str, _Replayed],
          threads: dict[str, tuple[int, str]], marks: dict[str, tuple[int, int]],
          hidden: set[str]) -> list[MessageView]:
    out = []
    for message_id, seq in order:
        m = state.get(message_id)
        if m is None:
            continue  # not in the log up to the position (cannot happen for a stored seq)
        s = m.sent
        readers = {u for u, (read, _) in marks.items() if read >= seq} | m.read
        delivered = ({u for u, (read, got) in marks.items() if max(read, got) >= seq}
                     | readers | m.delivered)
        replies, last_reply = threads.get(message_id, (0, None))
        out.append(MessageView(
            id=s.message_id, chat_id=s.chat_id, sender_id=s.sender_id, content=m.content,
            seq=seq, created_at=s.at, client_message_id=s.client_message_id,
            edited_at=m.edited_at, deleted=m.deleted, reply_to=s.reply_to,
            # Text opens as None only when its author's key is gone or retention took it.
            erased=m.content is None and not m.deleted,
            thread_id=s.thread_id, thread_reply_count=replies, thread_last_reply_at=last_reply,
            reactions=_reactions(m.reactions), mentions=m.mentions, pinned=m.pinned,
            delivered_to=sorted(delivered - {s.sender_id}),
            read_by=sorted(readers - hidden - {s.sender_id}),
        ))
    return out


def visible_ranges(spans: list[Span], upto: int) -> list[tuple[int, int]]:
    """The seq ranges (inclusive) a member sees up to `upto`: their spans."""
    ranges = []
    for joined, left in spans:
        last = upto if left is None else min(left - 1, upto)
        if joined <= last:
            ranges.append((joined, last))
    return ranges


class TimeTravel:
    _past: "ChatPast | None"

    async def wait_projected(self, position: int) -> bool:
        raise NotImplementedError  # ChatService's

    def _past_reader(self) -> ChatPast:
        if self._past is None:
            raise InvalidInput("asOf is not available on this node")
        return self._past

    async def _chat_then(self, user_id: str, chat_id: object, as_of: object
                         ) -> tuple[ChatPast, Chat, int]:
        """The chat at `as_of` if the caller was a member then; a clear error otherwise."""
        past = self._past_reader()
        if isinstance(as_of, bool) or not isinstance(as_of, int) or as_of < 0:
            raise InvalidInput("asOf must be a store position: an integer of 0 or more")
        chat_uuid = parse_uuid(chat_id, "chatId")
        head = await asyncio.to_thread(past.head)
        if as_of > head:
            raise InvalidInput(f"asOf must be at most {head}, the last stored position")
        chat = await asyncio.to_thread(past.chat_at, chat_uuid, as_of)
        if chat is None:
            raise NotFound("chat not found at that position")
        if user_id not in chat.member_ids:
            raise Forbidden("not a member of this chat at that position")
        # The read models' indexes must have reached the position.
        await self.wait_projected(as_of)
        return past, chat, as_of

    async def chat_as_of(self, user_id: str, chat_id: object, as_of: object) -> ChatView:
        _, chat, _ = await self._chat_then(user_id, chat_id, as_of)
        return ChatView(id=str(chat.id), title=chat.title, member_ids=sorted(chat.member_ids),
                        created_by=chat.created_by, created_at=iso(chat.created_on),
                        kind=chat.kind, owner_id=chat.owner_id, admins=list(chat.admins),
                        description=chat.description)

    async def history_as_of(
        self, user_id: str, chat_id: object, as_of: object, before: int | None = None,
        after: int | None = None, limit: int = 50, thread_id: object = None,
    ) -> tuple[list[MessageView], int | None]:
        """A page of history as it stood at `as_of`, of the caller's time as a member."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        thread = None if thread_id is None else str(parse_uuid(thread_id, "threadId"))
        past, chat, upto = await self._chat_then(user_id, chat_id, as_of)
        return await asyncio.to_thread(self._page_then, past, str(chat.id), user_id, upto,
                                       before, after, limit, thread)

    @staticmethod
    def _page_then(past: ChatPast, chat_id: str, user_id: str, upto: int, before: int | None,
                   after: int | None, limit: int, thread: str | None
                   ) -> tuple[list[MessageView], int | None]:
        ranges = visible_ranges(past.spans(chat_id, user_id, upto), upto)
        if not ranges:
            return [], None
        order, older = past.page(chat_id, thread, ranges, before, after, limit)
        if not order:
            return [], None
        ids = [message_id for message_id, _ in order]
        state = replay(past.message_events(ids, upto))
        marks = past.marks(chat_id, upto)
        hidden = past.receipts_hidden(marks) if marks else set()
        threads = past.thread_counts(ids, upto) if thread is None else {}
        page = views(order, state, threads, marks, hidden)
        return page, (order[0][1] if older else None)
