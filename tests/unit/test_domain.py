"""Domain rules, without any infrastructure."""

from uuid import uuid4

import pytest

from domain.chat import Chat
from domain.errors import Forbidden, InvalidInput
from domain.message import Message, check_content
from domain.receipts import Receipts
from domain.user import User


def test_creator_is_a_member_and_duplicates_collapse() -> None:
    chat = Chat.start("t", ["bob", "bob", "alice"], "alice")
    assert chat.member_ids == ["alice", "bob"]


def test_only_admins_change_membership() -> None:
    chat = Chat.start(None, ["bob"], "alice")
    with pytest.raises(Forbidden):
        chat.add_member("carol", "mallory")
    with pytest.raises(Forbidden):
        chat.add_member("carol", "bob")  # a member, not an admin
    chat.add_member("carol", "alice")
    chat.add_member("carol", "alice")  # twice is a no-op
    assert [type(e).__name__ for e in chat.collect_events()] == ["Created", "MemberAdded"]


@pytest.mark.parametrize("content", ["", "   ", "x" * 4001, None, 5])
def test_content_must_be_non_empty_text_of_at_most_4000_chars(content: object) -> None:
    with pytest.raises(InvalidInput):
        check_content(content)
    assert check_content("x" * 4000) == "x" * 4000


def test_a_receipt_moves_a_members_mark_only_forward() -> None:
    chat_id, message_id = uuid4(), uuid4()
    receipts = Receipts(chat_id=chat_id, user_id="bob")
    assert receipts.deliver(message_id, "alice", seq=5, members=2)
    assert not receipts.deliver(message_id, "alice", seq=5, members=2)
    assert not receipts.deliver(uuid4(), "alice", seq=3, members=2)  # earlier: covered
    assert receipts.read(message_id, "alice", seq=4, members=2)
    assert not receipts.read(uuid4(), "alice", seq=4, members=2)
    names = [type(e).__name__ for e in receipts.collect_events()]
    assert names == ["Started", "Delivered", "Read"]
    assert (receipts.delivered_seq, receipts.read_seq) == (5, 4)


def test_a_read_implies_delivery() -> None:
    receipts = Receipts(chat_id=uuid4(), user_id="bob")
    receipts.read(uuid4(), "alice", seq=7, members=2)
    assert receipts.delivered_seq == 7
    assert not receipts.deliver(uuid4(), "alice", seq=7, members=2)


def test_each_member_of_each_chat_has_its_own_receipts() -> None:
    chat = uuid4()
    assert Receipts.create_id(chat, "bob") == Receipts.create_id(chat, "bob")
    assert Receipts.create_id(chat, "bob") != Receipts.create_id(chat, "carol")
    assert Receipts.create_id(chat, "bob") != Receipts.create_id(uuid4(), "bob")


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
