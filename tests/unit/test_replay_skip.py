"""When a connect may skip its feed read (interfaces/replay_skip.py), and that the
gateway tells it of every row it fans out."""

from typing import Any, cast

import pytest

from application.feed import ServerEvent
from application.service import ChatService
from infrastructure.tokens import TokenService
from infrastructure.typing_bus import TypingBus
from interfaces import replay_skip
from interfaces.gateway import ChatGateway
from interfaces.replay_skip import ReplaySkip
from interfaces.socketio import SocketIOServer

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
