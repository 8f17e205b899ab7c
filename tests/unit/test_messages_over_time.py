"""Domain rules of messages over time: edits, deletes, pins, reactions, mentions."""

from uuid import uuid4

import pytest

from domain.errors import Conflict, Forbidden, InvalidInput
from domain.message import Message, check_emoji, mentions_in
from domain.reactions import Reactions

MEMBERS = ["alice", "bob", "carol", "d.e-f_g"]


def message(content: str = "hi") -> Message:
    return Message(chat_id=uuid4(), sender_id="alice", content=content, client_message_id=None)


@pytest.mark.parametrize("content,expected", [
    ("@bob hi", ["bob"]),
    ("hi @bob, and @carol!", ["bob", "carol"]),
    ("thanks @bob.", ["bob"]),  # a sentence's full stop ends it
    ("@d.e-f_g: look", ["d.e-f_g"]),  # . - _ belong to the id
    ("@bob @bob @bob", ["bob"]),
    ("(@carol)", ["carol"]),
    ("mail bob@carol", []),  # inside a word: not a mention
    ("@mallory and @bobby", []),  # not members
    ("@alice me", []),  # the author is never among their own mentions
    ("@bob\t@carol\n", ["bob", "carol"]),
])
def test_mentions_name_members_ended_by_space_punctuation_or_the_end(
        content: str, expected: list[str]) -> None:
    assert mentions_in(content, MEMBERS, "alice") == expected


def test_only_the_sender_edits_and_every_version_is_an_event() -> None:
    m = message("first")
    with pytest.raises(Forbidden):
        m.edit("bob", "mine now", MEMBERS, seq=1)
    assert m.edit("alice", "second @bob", MEMBERS, seq=1)
    assert not m.edit("alice", "second @bob", MEMBERS, seq=1)  # the same text: nothing
    assert m.edit("alice", "third", MEMBERS, seq=1)
    assert (m.content, m.mentions) == ("third", [])
    names = [type(e).__name__ for e in m.collect_events()]
    assert names == ["Sent", "Edited", "Edited"]


def test_an_edit_is_checked_like_a_send() -> None:
    with pytest.raises(InvalidInput):
        message().edit("alice", "x" * 4001, MEMBERS, seq=1)
    with pytest.raises(InvalidInput):
        message().edit("alice", "   ", MEMBERS, seq=1)


def test_a_deleted_message_keeps_its_place_but_not_its_content_and_cannot_be_edited() -> None:
    m = message("secret @bob")
    with pytest.raises(Forbidden):
        m.delete("bob", by_admin=False, seq=1)
    assert m.delete("carol", by_admin=True, seq=1)  # an admin may
    assert not m.delete("alice", by_admin=False, seq=1)  # twice: nothing
    assert (m.deleted, m.content, m.mentions, m.sender_id) == (True, None, [], "alice")
    with pytest.raises(Conflict):
        m.edit("alice", "again", MEMBERS, seq=1)
    with pytest.raises(Conflict):
        m.pin("carol", seq=1)


def test_pins_toggle_and_repeat_as_no_ops() -> None:
    m = message()
    assert m.pin("alice", 1) and not m.pin("alice", 1)
    assert m.unpin("alice", 1) and not m.unpin("alice", 1)
    assert [type(e).__name__ for e in m.collect_events()] == ["Sent", "Pinned", "Unpinned"]


@pytest.mark.parametrize("emoji", ["", "x" * 65, "x" * 200, None, 5, " 👍"])
def test_an_emoji_is_1_to_64_characters(emoji: object) -> None:
    with pytest.raises(InvalidInput):
        check_emoji(emoji)
    assert check_emoji("x" * 64) == "x" * 64
    assert check_emoji("👍🏽") == "👍🏽"


def test_a_user_adds_an_emoji_once() -> None:
    r = Reactions(chat_id=uuid4(), message_id=uuid4(), user_id="bob")
    assert r.add("👍") and not r.add("👍") and r.add("🎉")
    assert r.remove("👍") and not r.remove("👍")
    assert r.emojis == ["🎉"]
    names = [type(e).__name__ for e in r.collect_events()]
    assert names == ["Started", "Added", "Added", "Removed"]


def test_each_user_has_their_own_reactions_to_a_message() -> None:
    m = uuid4()
    assert Reactions.create_id(m, "bob") == Reactions.create_id(m, "bob")
    assert Reactions.create_id(m, "bob") != Reactions.create_id(m, "carol")
    assert Reactions.create_id(m, "bob") != Reactions.create_id(uuid4(), "bob")
