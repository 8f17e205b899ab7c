"""When a connect may skip its feed read (interfaces/replay_skip.py), and that the
gateway tells it of every row it fans out."""

from collections.abc import Callable
from typing import Any, cast

import pytest

from application.feed import ServerEvent
from application.service import ChatService
from application.views import FeedItem
from infrastructure.tokens import TokenService
from infrastructure.typing_bus import TypingBus
from interfaces import replay_skip
from interfaces.gateway import ChatGateway
from interfaces.replay_skip import ReplaySkip
from interfaces.socketio import Socket, SocketIOServer

NEW, READ, ONLINE = ServerEvent.NEW_MESSAGE, ServerEvent.MESSAGE_READ, ServerEvent.USER_ONLINE
ADDED = ServerEvent.CHAT_ADDED


def test_a_row_of_one_of_the_users_chats_after_the_start_needs_the_read() -> None:
    skip = ReplaySkip()
    skip.fanned_out(5, NEW, "chat-a", None)
    assert not skip.nothing_after(4, "bob", ["chat-b", "chat-a"])
    assert skip.nothing_after(5, "bob", ["chat-a"])  # the start is after it
    assert skip.nothing_after(4, "bob", ["chat-b"])  # another user's chat


def test_a_row_for_the_user_alone_needs_the_read() -> None:
    skip = ReplaySkip()
    skip.fanned_out(7, ADDED, "chat-new", "bob")  # bob was added to a chat he does not list
    assert not skip.nothing_after(6, "bob", [])
    assert skip.nothing_after(6, "carol", [])


def test_rows_a_connect_never_replays_do_not_count() -> None:
    skip = ReplaySkip()
    skip.fanned_out(9, ONLINE, None, "carol")
    skip.fanned_out(10, "connection-opened", "chat-a", "carol")
    assert skip.nothing_after(8, "carol", ["chat-a"])


def test_what_was_forgotten_or_never_seen_needs_the_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert not ReplaySkip(floor=100).nothing_after(99, "bob", [])  # before delivery began
    monkeypatch.setattr(replay_skip, "MAX_TARGETS", 2)
    skip = ReplaySkip()
    skip.fanned_out(1, NEW, "chat-a", None)
    skip.fanned_out(2, NEW, "chat-b", None)
    skip.fanned_out(3, READ, "chat-c", None)  # full: chat-a and chat-b are forgotten
    assert not skip.nothing_after(1, "bob", ["chat-a"])
    assert skip.nothing_after(2, "bob", ["chat-a"])
    assert not skip.nothing_after(2, "bob", ["chat-c"])


class _Service:
    """What the gateway's constructor and fan-out touch of the service."""

    async def chat_ids_of_many(self, user_ids: list[str]) -> dict[str, list[str]]:
        return {}


def test_the_gateway_tells_it_of_every_row_it_fans_out() -> None:
    gateway = ChatGateway(SocketIOServer(), cast(ChatService, _Service()),
                          TokenService("s" * 48), TypingBus())
    gateway.start_delivery(10)
    assert not gateway.replay_skip.nothing_after(9, "bob", [])  # before delivery began
    rows: list[Any] = [(11, NEW, "chat-a", None, b'{"id": "m"}'),
                       (12, ADDED, "chat-b", "bob", b'{"chat": {}}')]
    gateway._fan_out(rows)
    assert not gateway.replay_skip.nothing_after(10, "carol", ["chat-a"])
    assert not gateway.replay_skip.nothing_after(11, "bob", [])
    assert gateway.replay_skip.nothing_after(12, "bob", ["chat-a"])


class _Socket:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {"plain": False}
        self.rooms: set[str] = set()
        self.emitted: list[tuple[str, str]] = []

    def join(self, room: str) -> None:
        self.rooms.add(room)

    def leave(self, room: str) -> None:
        self.rooms.discard(room)

    def emit(self, event: str, data: Any, *offset: str) -> None:
        self.emitted.append((event, *offset))


class _Feed(_Service):
    """A feed read during which the gateway fans out one more row (another commit)."""

    def __init__(self, gateway: Callable[[], ChatGateway]) -> None:
        self._gateway = gateway
        self.reads: list[int] = []

    async def wait_projected(self, position: int) -> bool:
        return True

    async def feed(self, user_id: str, after: int, limit: int) -> list[FeedItem]:
        self.reads.append(after)
        items = [FeedItem(11, ADDED, "chat-x", {"chat": {}}, ""),
                 FeedItem(12, NEW, "chat-x", {"id": "m"}, "")]
        if len(self.reads) == 1:  # the message in the new chat is fanned out meanwhile
            self._gateway().cursor.followed([(12, NEW, "chat-x", None, b'{"id": "m"}')], 12)
            return items[:1]
        return [i for i in items if i.position > after]


async def test_a_chat_joined_during_the_replay_is_watched_until_it_ends() -> None:
    gateway: ChatGateway | None = None
    service = _Feed(lambda: cast(ChatGateway, gateway))
    gateway = ChatGateway(SocketIOServer(), cast(ChatService, service),
                          TokenService("s" * 48), TypingBus())
    gateway.start_delivery(10)
    gateway.cursor.followed([(11, ADDED, "chat-x", "bob", b'{"chat": {}}')], 11)
    socket = _Socket()
    await gateway._replay(cast(Socket, socket), "bob", 10, [])
    assert socket.emitted == [(ADDED, "11"), (NEW, "12")]
    assert service.reads == [10, 11]
