"""Domain rules, without any infrastructure."""

from uuid import uuid4

import pytest

from domain.chat import Chat
from domain.errors import Forbidden, InvalidInput
from domain.message import Message, check_content
from domain.user import User


def test_creator_is_a_member_and_duplicates_collapse() -> None:
    chat = Chat.start("t", ["bob", "bob", "alice"], "alice")
    assert chat.member_ids == ["alice", "bob"]


def test_only_members_change_membership() -> None:
    chat = Chat.start(None, ["bob"], "alice")
    with pytest.raises(Forbidden):
        chat.add_member("carol", "mallory")
    chat.add_member("carol", "bob")
    chat.add_member("carol", "bob")  # twice is a no-op
    assert [type(e).__name__ for e in chat.collect_events()] == ["Created", "MemberAdded"]


@pytest.mark.parametrize("content", ["", "   ", "x" * 4001, None, 5])
def test_content_must_be_non_empty_text_of_at_most_4000_chars(content: object) -> None:
    with pytest.raises(InvalidInput):
        check_content(content)
    assert check_content("x" * 4000) == "x" * 4000


def test_a_message_is_delivered_and_read_once_per_user() -> None:
    message = Message(chat_id=uuid4(), sender_id="alice", content="hi", client_message_id=None)
    assert message.deliver_to("bob")
    assert not message.deliver_to("bob")
    assert message.read_by_user("bob")
    assert not message.read_by_user("bob")
    assert not message.read_by_user("alice")  # the sender never "reads" their own message
    names = [type(e).__name__ for e in message.collect_events()]
    assert names == ["Sent", "Delivered", "Read"]


def test_a_read_implies_delivery() -> None:
    message = Message(chat_id=uuid4(), sender_id="alice", content="hi", client_message_id=None)
    message.read_by_user("bob")
    assert message.delivered_to == ["bob"]


def test_same_sender_and_client_id_give_the_same_message_id() -> None:
    a = Message.create_id("alice", "c1")
    assert a == Message.create_id("alice", "c1")
    assert a != Message.create_id("bob", "c1")
    assert Message.create_id("alice", None) != Message.create_id("alice", None)


def test_user_ids_are_unique_by_construction() -> None:
    assert User.register("alice", None, None, False).id == User.register("alice", "h", "A",
                                                                          False).id
    with pytest.raises(InvalidInput):
        User.register("", None, None, False)
