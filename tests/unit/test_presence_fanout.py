"""Presence fan-out on its own: net changes per user, one chat lookup per flush
(interfaces/presence_fanout.py)."""

import asyncio
from typing import Any

import pytest

from interfaces import presence_fanout
from interfaces.presence_fanout import PresenceFanOut


class Room:
    def __init__(self) -> None:
        self.lookups: list[list[str]] = []
        self.told: list[tuple[str, str, list[str]]] = []

    async def chats_of(self, users: list[str]) -> dict[str, list[str]]:
        self.lookups.append(users)
        return {u: ["chat-1"] for u in users}

    def publish(self, event: str, payload: dict[str, Any], chats: list[str]) -> None:
        self.told.append((event, payload["userId"], chats))


@pytest.fixture
def room(monkeypatch: pytest.MonkeyPatch) -> Room:
    monkeypatch.setattr(presence_fanout, "WINDOW_S", 0.01)
    monkeypatch.setattr(presence_fanout, "OFFLINE_GRACE_S", 0.1)
    return Room()


def fan_out(room: Room) -> PresenceFanOut:
    return PresenceFanOut(room.chats_of, room.publish, asyncio.get_running_loop)


async def test_users_coming_online_together_are_looked_up_once_and_all_told(room: Room) -> None:
    presence = fan_out(room)
    for i in range(120):
        presence.changed("user-online", {"userId": f"u{i}"})
    await asyncio.sleep(0.1)
    assert room.lookups == [[f"u{i}" for i in range(120)]]
    assert [t[1] for t in room.told] == [f"u{i}" for i in range(120)]
    assert all(t[0] == "user-online" and t[2] == ["chat-1"] for t in room.told)


async def test_a_user_back_within_the_grace_was_never_seen_to_leave(room: Room) -> None:
    presence = fan_out(room)
    presence.changed("user-offline", {"userId": "bob", "lastSeen": "x"})
    await asyncio.sleep(0.02)
    presence.changed("user-online", {"userId": "bob"})
    await asyncio.sleep(0.2)
    assert room.told == []
    assert presence.cancelled == 2


async def test_a_user_gone_within_the_window_was_never_seen_to_come(room: Room) -> None:
    presence = fan_out(room)
    presence.changed("user-online", {"userId": "bob"})
    presence.changed("user-offline", {"userId": "bob", "lastSeen": "x"})
    await asyncio.sleep(0.2)
    assert room.told == []


async def test_an_offline_is_told_once_the_grace_is_over(room: Room) -> None:
    presence = fan_out(room)
    presence.changed("user-online", {"userId": "bob"})
    await asyncio.sleep(0.05)
    presence.changed("user-offline", {"userId": "bob", "lastSeen": "x"})
    await asyncio.sleep(0.05)
    assert room.told == [("user-online", "bob", ["chat-1"])]
    await asyncio.sleep(0.15)
    assert room.told == [("user-online", "bob", ["chat-1"]),
                         ("user-offline", "bob", ["chat-1"])]
