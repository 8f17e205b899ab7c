"""The use cases that change state. Each is "get, call, add" on a unit of work;
the group-commit writer saves them. They validate before they mutate, so a
failing command leaves nothing behind in a shared batch."""

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from application.unit_of_work import UnitOfWork, last_event
from application.writer import Outcome, Reading
from domain.chat import Chat
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.ids import check_user_id, parse_uuid, user_aggregate_id
from domain.message import Message, check_content, mentions_in
from domain.presence import Connection, Node
from domain.receipts import Receipts
from domain.user import User

MAX_CLIENT_MESSAGE_ID = 128


@dataclass(frozen=True)
class SentMessage:
    message: Message
    duplicate: bool


def _ids(*values: object) -> list[UUID]:
    """The ids among `values` that parse (bad input fails later, inside the command)."""
    ids = []
    for value in values:
        if value is None:  # not given (usually: a reply or thread id); no exception to raise
            continue
        with suppress(InvalidInput):
            ids.append(parse_uuid(value, "id"))
    return ids


def _require_user(uow: UnitOfWork, user_id: str) -> User:
    check_user_id(user_id)
    return uow.get(user_aggregate_id(user_id), User, f"user {user_id!r}")


def register_user(
    user_id: str, password_hash: str | None, display_name: str | None, external: bool = False
) -> Callable[[UnitOfWork], Outcome[User]]:
    def run(uow: UnitOfWork) -> Outcome[User]:
        check_user_id(user_id)
        if uow.find(user_aggregate_id(user_id), User) is not None:
            raise Conflict(f"user {user_id!r} already exists")
        user = User.register(user_id, password_hash, display_name, external)
        uow.add(user)
        return Outcome(user, last_event(user))

    return run


def ensure_user(user_id: str, external: bool) -> Callable[[UnitOfWork], Outcome[User]]:
    """Provisions a user on first sight (CLI tokens, external issuers)."""

    def run(uow: UnitOfWork) -> Outcome[User]:
        check_user_id(user_id)
        existing = uow.find(user_aggregate_id(user_id), User)
        if existing is not None:
            return Outcome(existing)
        user = User.register(user_id, None, None, external)
        uow.add(user)
        return Outcome(user, last_event(user))

    return run


def create_chat(
    creator: str, title: str | None, member_ids: list[str], description: str | None = None
) -> Callable[[UnitOfWork], Outcome[Chat]]:
    def run(uow: UnitOfWork) -> Outcome[Chat]:
        if not isinstance(member_ids, list):
            raise InvalidInput("memberIds must be a list of user ids")
        for user_id in [creator, *member_ids]:
            _require_user(uow, user_id)
        chat = Chat.start(title, member_ids, creator, description)
        uow.add(chat)
        return Outcome(chat, last_event(chat))

    return run


def add_member(actor: str, chat_id: object, user_id: str) -> Callable[[UnitOfWork], Outcome[Chat]]:
    def run(uow: UnitOfWork) -> Outcome[Chat]:
        chat = uow.get(parse_uuid(chat_id, "chatId"), Chat, "chat")
        chat.require_member(actor)
        _require_user(uow, user_id)
        chat.add_member(user_id, actor)
        return Outcome(chat, last_event(chat) if chat.pending_events else None)

    return run


def remove_member(
    actor: str, chat_id: object, user_id: str
) -> Callable[[UnitOfWork], Outcome[Chat]]:
    def run(uow: UnitOfWork) -> Outcome[Chat]:
        chat = uow.get(parse_uuid(chat_id, "chatId"), Chat, "chat")
        chat.require_member(actor)
        check_user_id(user_id)
        chat.remove_member(user_id, actor)
        return Outcome(chat, last_event(chat) if chat.pending_events else None)

    return run


def _related(uow: UnitOfWork, chat: Chat, message_id: object, field: str) -> UUID | None:
    """A message of `chat` named by `replyTo` or `threadId` (None when not given)."""
    if message_id is None:
        return None
    message_uuid = parse_uuid(message_id, field)
    message = uow.find(message_uuid, Message)
    if message is None or message.chat_id != chat.id:
        raise InvalidInput(f"{field} must be a message of this chat")
    if field == "threadId" and message.thread_id is not None:
        raise InvalidInput("threadId must be a main-timeline message: threads do not nest")
    return message_uuid


def send_message(
    sender: str, chat_id: object, content: object, client_message_id: object = None,
    reply_to: object = None, thread_id: object = None,
) -> Callable[[UnitOfWork], Outcome[SentMessage]]:
    def run(uow: UnitOfWork) -> Outcome[SentMessage]:
        chat_uuid = parse_uuid(chat_id, "chatId")
        if client_message_id is not None and (
            not isinstance(client_message_id, str)
            or not 0 < len(client_message_id) <= MAX_CLIENT_MESSAGE_ID
        ):
            raise InvalidInput(
                f"clientMessageId must be a string of 1-{MAX_CLIENT_MESSAGE_ID} characters"
            )
        text = check_content(content)
        chat = uow.get(chat_uuid, Chat, "chat")
        chat.require_write(sender, datetime.now(UTC))  # a member, not muted, not blocked
        if client_message_id is not None:
            message_id = Message.create_id(sender, client_message_id)
            existing = uow.find(message_id, Message)
            if existing is not None:
                # A retry: answer with the first message, store nothing.
                return Outcome(SentMessage(existing, duplicate=True))
        reply = _related(uow, chat, reply_to, "replyTo")
        thread = _related(uow, chat, thread_id, "threadId")
        message = Message(
            chat_id=chat_uuid, sender_id=sender, content=text, client_message_id=client_message_id,
            reply_to=reply, thread_id=thread, mentions=mentions_in(text, chat.member_ids, sender),
        )
        uow.add(message)
        return Outcome(SentMessage(message, duplicate=False), last_event(message))

    reads = _ids(chat_id, reply_to, thread_id)
    creates = []
    if isinstance(client_message_id, str) and 0 < len(client_message_id) <= MAX_CLIENT_MESSAGE_ID:
        # Stored already only when a client retries: the save tells (writer.py).
        creates.append(Message.create_id(sender, client_message_id))
    return Reading(run, reads, creates)


@dataclass(frozen=True)
class ReceiptOutcome:
    """What a receipt command answers: the message it named, whether a mark moved."""

    chat_id: UUID
    message_id: UUID
    moved: bool


def _receipt(user: str, chat_id: object, message_id: object, read: bool
             ) -> Callable[[UnitOfWork], Outcome[ReceiptOutcome]]:
    """Moves the member's high-water mark in the chat up to the message. The message
    is one stored event (its Sent), read for its seq and sender; the receipt is an
    event of the member's Receipts aggregate, never of the message."""

    def run(uow: UnitOfWork) -> Outcome[ReceiptOutcome]:
        chat = uow.get(parse_uuid(chat_id, "chatId"), Chat, "chat")
        message_uuid = parse_uuid(message_id, "messageId")
        chat.require_member(user)
        if user in chat.blocked:  # the blocker receives nothing of theirs, receipts neither
            raise Forbidden("blocked")
        message = uow.find(message_uuid, Message)
        seq = uow.position_of(message_uuid)
        if message is None or message.chat_id != chat.id or seq is None:
            raise NotFound("message not found in this chat")
        unchanged = Outcome(ReceiptOutcome(chat.id, message.id, moved=False))
        if user == message.sender_id:
            return unchanged  # the sender never counts as a reader of their own message
        receipts_id = Receipts.create_id(chat.id, user)
        receipts = uow.find(receipts_id, Receipts)
        if receipts is None:
            receipts = Receipts(chat_id=chat.id, user_id=user)
            uow.add(receipts)
        members = len(chat.member_ids)
        moved = (receipts.read(message.id, message.sender_id, seq, members) if read
                 else receipts.deliver(message.id, message.sender_id, seq, members))
        if not moved:
            return unchanged
        return Outcome(ReceiptOutcome(chat.id, message.id, moved=True), last_event(receipts))

    reads = _ids(chat_id, message_id)
    with suppress(InvalidInput):
        reads.append(Receipts.create_id(parse_uuid(chat_id, "chatId"), user))
    return Reading(run, reads)


def mark_delivered(
    user: str, chat_id: object, message_id: object
) -> Callable[[UnitOfWork], Outcome[ReceiptOutcome]]:
    return _receipt(user, chat_id, message_id, read=False)


def mark_read(
    user: str, chat_id: object, message_id: object
) -> Callable[[UnitOfWork], Outcome[ReceiptOutcome]]:
    """Reading a message marks every earlier message of the chat read too."""
    return _receipt(user, chat_id, message_id, read=True)


def open_connection(user_id: str, node_id: str) -> Callable[[UnitOfWork], Outcome[Connection]]:
    def run(uow: UnitOfWork) -> Outcome[Connection]:
        connection = Connection(user_id=user_id, node_id=node_id)
        uow.add(connection)
        return Outcome(connection, last_event(connection))

    return run


def close_connection(connection_id: UUID) -> Callable[[UnitOfWork], Outcome[None]]:
    def run(uow: UnitOfWork) -> Outcome[None]:
        connection = uow.find(connection_id, Connection)
        if connection is None or not connection.open:
            return Outcome(None)
        connection.close()
        return Outcome(None, last_event(connection))

    return run


def node_started(node_id: str) -> Callable[[UnitOfWork], Outcome[None]]:
    """A node starts (again) under its id: connections it had before are gone."""

    def run(uow: UnitOfWork) -> Outcome[None]:
        node = uow.find(Node.create_id(node_id), Node)
        if node is None:
            node = Node(node_id=node_id)
            uow.add(node)
        else:
            node.restart()
        return Outcome(None, last_event(node))

    return run


def node_stopped(node_id: str) -> Callable[[UnitOfWork], Outcome[None]]:
    def run(uow: UnitOfWork) -> Outcome[None]:
        node = uow.find(Node.create_id(node_id), Node)
        if node is None:
            return Outcome(None)
        node.stop()
        return Outcome(None, last_event(node) if node.pending_events else None)

    return run


def erase_user(user_id: str) -> Callable[[UnitOfWork], Outcome[User]]:
    """Records User.Erased (once); the caller destroyed the key first."""

    def run(uow: UnitOfWork) -> Outcome[User]:
        user = _require_user(uow, user_id)
        return Outcome(user, last_event(user) if user.erase() else None)

    return run


def expire_messages(message_ids: list[UUID]) -> Reading[int]:
    """Message.Expired on each of these messages not expired yet (retention)."""

    def run(uow: UnitOfWork) -> Outcome[int]:
        last = None
        for message_id in message_ids:
            message = uow.find(message_id, Message)
            seq = uow.position_of(message_id)
            if message is not None and seq is not None and message.expire(seq):
                last = last_event(message)
        return Outcome(len(message_ids), last)

    return Reading(run, message_ids)
