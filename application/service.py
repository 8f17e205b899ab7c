"""The application's async face: commands go through the group-commit writer,
queries read the read models. Interfaces (gateway, REST, CLI) use only this."""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application import commands
from application.backpressure import DeliveryBackpressure
from application.chat_admin import ChatsPeopleRun
from application.erasure import Erasure
from application.message_service import MessagesOverTime
from application.ports import (
    NodeLeases,
    PasswordHasher,
    ProjectionProgress,
    ReadModels,
    Shredder,
)
from application.privacy import PrivacySettings
from application.time_travel import ChatPast, TimeTravel
from application.unit_of_work import UnitOfWork
from application.views import (
    ChatListItem,
    ChatView,
    FeedItem,
    MessageView,
    PresenceView,
    UserView,
    iso,
)
from application.writer import GroupCommitWriter, Outcome
from domain.chat import Chat
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.ids import check_user_id, parse_uuid, user_aggregate_id
from domain.user import User, check_username

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)

READ_YOUR_WRITES_TIMEOUT = 5.0
MAX_PAGE = 200
MIN_PASSWORD = 8
KNOWN_USERS_MAX = 10_000  # users remembered to exist (`known_user`), least recent dropped
MAX_PASSWORD = 1024


@dataclass(frozen=True)
class Receipt:
    chat_id: str
    message_id: str
    user_id: str
    at: str
    seq: int | None


@dataclass(frozen=True)
class SendResult:
    message: MessageView
    duplicate: bool


class ChatService(ChatsPeopleRun, MessagesOverTime, PrivacySettings, TimeTravel, Erasure):
    def __init__(
        self,
        store: Application[UUID],
        writer: GroupCommitWriter,
        read_models: ReadModels,
        progress: ProjectionProgress,
        hasher: PasswordHasher,
        node_id: str,
        leases: NodeLeases,
        backpressure: DeliveryBackpressure | None = None,
        past: ChatPast | None = None,
        shredder: Shredder | None = None,
    ) -> None:
        self.shredder = shredder
        self._store = store
        self._writer = writer
        self._read = read_models
        self._progress = progress
        self._hasher = hasher
        self.node_id = node_id
        self._leases = leases
        self.backpressure = backpressure or DeliveryBackpressure()
        self._past = past  # time travel (?asOf)
        self._known_users: OrderedDict[str, None] = OrderedDict()  # `known_user`

    async def _run(
        self, command: Callable[[UnitOfWork], Outcome[T]], wait: bool = True, bulk: bool = False
    ) -> Outcome[T]:
        outcome: Outcome[T] = await self._writer.submit_async(command, bulk)
        if wait and outcome.position is not None:
            # Read-your-writes: the caller's next query sees this change.
            await self._progress.wait_for(outcome.position, READ_YOUR_WRITES_TIMEOUT)
        return outcome

    async def wait_projected(self, position: int) -> bool:
        """Until every read model has processed `position` (False: not within the
        read-your-writes timeout)."""
        return await self._progress.wait_for(position, READ_YOUR_WRITES_TIMEOUT)

    async def sync(self) -> None:
        """Waits until the read models reflect everything stored so far."""
        position = await asyncio.to_thread(lambda: self._store.recorder.max_notification_id())
        await self._progress.wait_for(position or 0, READ_YOUR_WRITES_TIMEOUT)

    # -- users -----------------------------------------------------------------
    async def register(self, username: str, password: str, display_name: str | None) -> str:
        check_username(username)
        if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidInput(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        password_hash = await self._hasher.hash(password)
        await self._run(commands.register_user(username, password_hash, display_name))
        return username

    async def ensure_user(self, user_id: str, external: bool = False) -> str:
        # Users are read from their aggregate, not a read model: no need to wait.
        await self._run(commands.ensure_user(user_id, external), wait=False)
        return user_id

    async def known_user(self, user_id: str, external: bool = False) -> bool:
        """Whether the user exists; an external issuer's user is provisioned on first
        sight. Asked at every connect and REST call, so a yes is remembered: users are
        never deleted, and an erased user's token is refused before this is asked. (It
        loaded the user's aggregate from the store each time: 10 % of a reconnect
        storm's read time.)"""
        if user_id in self._known_users:
            self._known_users.move_to_end(user_id)
            return True
        if external:
            await self.ensure_user(user_id, external=True)
        elif await self.get_user(user_id) is None:
            return False
        self._known_users[user_id] = None
        if len(self._known_users) > KNOWN_USERS_MAX:
            self._known_users.popitem(last=False)
        return True

    async def get_user(self, user_id: str) -> UserView | None:
        user = await asyncio.to_thread(self._load_user, user_id)
        if user is None:
            return None
        return UserView(user_id=user.user_id, display_name=user.display_name or user.user_id,
                        external=user.external)

    async def authenticate(self, username: str, password: str) -> str | None:
        user = await asyncio.to_thread(self._load_user, username)
        if user is None or user.password_hash is None:
            return None
        ok = await self._hasher.verify(user.password_hash, password)
        return user.user_id if ok else None

    def _load_user(self, user_id: str) -> User | None:
        try:
            check_user_id(user_id)
            user: object = self._store.repository.get(user_aggregate_id(user_id))
        except (AggregateNotFoundError, InvalidInput):
            return None
        return user if isinstance(user, User) else None

    # -- chats -----------------------------------------------------------------
    @staticmethod
    def _chat_view(chat: Chat) -> ChatView:
        return ChatView(id=str(chat.id), title=chat.title, member_ids=list(chat.member_ids),
                        created_by=chat.created_by, created_at=iso(chat.created_on),
                        kind=chat.kind, owner_id=chat.owner_id, admins=list(chat.admins),
                        description=chat.description)

    async def create_chat(self, creator: str, title: str | None, member_ids: list[str],
                          description: str | None = None) -> ChatView:
        outcome = await self._run(commands.create_chat(creator, title, member_ids, description))
        return self._chat_view(outcome.value)

    async def add_member(self, actor: str, chat_id: object, user_id: str) -> ChatView:
        outcome = await self._run(commands.add_member(actor, chat_id, user_id))
        return self._chat_view(outcome.value)

    async def remove_member(self, actor: str, chat_id: object, user_id: str) -> ChatView:
        outcome = await self._run(commands.remove_member(actor, chat_id, user_id))
        return self._chat_view(outcome.value)

    async def _as_delivered(self) -> None:
        """Read models at least as far as what this node's sockets were sent from its
        commits: a client told of a receipt by its socket, asking REST next, finds it.
        The projections run a moment behind the commit (they linger for more)."""
        await self._progress.wait_for(self._progress.delivered(), READ_YOUR_WRITES_TIMEOUT)

    async def chat_for(self, user_id: str, chat_id: object) -> ChatView:
        """The chat with its members; NotFound or Forbidden for the wrong caller."""
        await self._as_delivered()
        chat = await asyncio.to_thread(self._read.chat, parse_uuid(chat_id, "chatId"))
        if chat is None:
            raise NotFound("chat not found")
        if user_id not in chat.member_ids:
            raise Forbidden("not a member of this chat")
        return chat

    async def chats_of(self, user_id: str) -> list[ChatListItem]:
        await self._as_delivered()
        return await asyncio.to_thread(self._read.chats_of, user_id)

    async def chat_ids_of(self, user_id: str) -> list[str]:
        return await asyncio.to_thread(self._read.chat_ids_of, user_id)

    async def chat_ids_of_many(self, user_ids: list[str]) -> dict[str, list[str]]:
        """Each user's chats, in one query."""
        return await asyncio.to_thread(self._read.chat_ids_of_many, user_ids)

    # -- messages --------------------------------------------------------------
    async def send_message(
        self, sender: str, chat_id: object, content: object, client_message_id: object = None,
        wait: bool = True, reply_to: object = None, thread_id: object = None,
    ) -> SendResult:
        self.backpressure.check()
        outcome = await self._run(
            commands.send_message(sender, chat_id, content, client_message_id, reply_to,
                                  thread_id), wait=wait
        )
        sent = outcome.value
        if sent.duplicate:
            stored = await self._stored_message(sent.message.id)
            return SendResult(stored, duplicate=True)
        message = sent.message
        assert outcome.position is not None and outcome.event is not None
        view = MessageView(
            id=str(message.id), chat_id=str(message.chat_id), sender_id=message.sender_id,
            content=message.content, seq=outcome.position, created_at=iso(outcome.event.timestamp),
            client_message_id=message.client_message_id,
            reply_to=str(message.reply_to) if message.reply_to else None,
            thread_id=str(message.thread_id) if message.thread_id else None,
            mentions=list(message.mentions),
        )
        return SendResult(view, duplicate=False)

    async def _stored_message(self, message_id: UUID) -> MessageView:
        view = await asyncio.to_thread(self._read.message, message_id)
        if view is None:
            # Stored but not yet projected: wait for the read model to catch up.
            await self.sync()
            view = await asyncio.to_thread(self._read.message, message_id)
        if view is None:
            raise NotFound("message not found")
        return view

    async def _receipt(
        self, command: Callable[[UnitOfWork], Outcome[commands.ReceiptOutcome]], user: str,
        wait: bool,
    ) -> Receipt:
        outcome = await self._run(command, wait=wait, bulk=True)
        receipt = outcome.value
        at = iso(outcome.event.timestamp if outcome.event is not None else utcnow())
        return Receipt(chat_id=str(receipt.chat_id), message_id=str(receipt.message_id),
                       user_id=user, at=at, seq=outcome.position)

    async def mark_delivered(
        self, user: str, chat_id: object, message_id: object, wait: bool = True
    ) -> Receipt:
        return await self._receipt(commands.mark_delivered(user, chat_id, message_id), user, wait)

    async def mark_read(
        self, user: str, chat_id: object, message_id: object, wait: bool = True
    ) -> Receipt:
        return await self._receipt(commands.mark_read(user, chat_id, message_id), user, wait)

    async def history(
        self, user_id: str, chat_id: object, before: int | None = None, after: int | None = None,
        limit: int = 50, thread_id: object = None,
    ) -> tuple[list[MessageView], int | None]:
        """A page oldest first and `nextBefore` (None at the beginning): of the main
        timeline, or of the thread whose root is `thread_id`."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        chat = await self.chat_for(user_id, chat_id)
        thread = None if thread_id is None else parse_uuid(thread_id, "threadId")
        messages, older = await asyncio.to_thread(
            self._read.history, UUID(chat.id), before, after, limit, thread
        )
        return messages, (messages[0].seq if messages and older else None)

    async def feed(self, user_id: str, after: int, limit: int = 100) -> list[FeedItem]:
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")
        await self._as_delivered()
        return await asyncio.to_thread(self._read.feed, user_id, after, limit)

    # -- presence --------------------------------------------------------------
    async def presence(self, user_ids: list[str]) -> list[PresenceView]:
        for user_id in user_ids:
            check_user_id(user_id, "userIds")
        return await asyncio.to_thread(self._read.presence, user_ids, time.time())

    async def open_connection(self, user_id: str) -> UUID:
        outcome = await self._run(commands.open_connection(user_id, self.node_id), wait=False)
        connection_id: UUID = outcome.value.id
        return connection_id

    async def close_connection(self, connection_id: UUID) -> None:
        await self._run(commands.close_connection(connection_id), wait=False)

    async def node_started(self, lease_seconds: float) -> None:
        """The lease first (off the writer), so this node's connections count at once."""
        await asyncio.to_thread(self._leases.renew, self.node_id, lease_seconds)
        await self._run(commands.node_started(self.node_id), wait=False)

    async def node_heartbeat(self, lease_seconds: float) -> None:
        """Renews the lease row in place: the same cost on day one and after a year."""
        await asyncio.to_thread(self._leases.renew, self.node_id, lease_seconds)

    async def node_stopped(self) -> None:
        await self._run(commands.node_stopped(self.node_id), wait=False)
        await asyncio.to_thread(self._leases.drop, self.node_id)

    async def expire_lapsed_nodes(self) -> list[str]:
        """Stops nodes whose lease lapsed (they died): their users go offline."""
        lapsed = await asyncio.to_thread(self._read.lapsed_nodes, time.time())
        for node_id in lapsed:
            if node_id != self.node_id:
                await self._run(commands.node_stopped(node_id), wait=False)
        return [n for n in lapsed if n != self.node_id]
