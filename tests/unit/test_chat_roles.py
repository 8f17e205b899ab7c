"""Owners of chats from before roles: the creator, or when the creator is gone the
oldest admin, else the oldest member - the same in the aggregate, in its upcast
snapshot and in the roster read model (so a store of an earlier release upgrades with
one answer everywhere)."""

import json
from collections.abc import Iterable, Mapping

from application.projections.events import ChatCreated, MemberRemoved, RoleChanged
from application.projections.roster import RosterChat, RosterProjection
from domain.chat import Chat, next_owner

AT = "2026-01-01T00:00:00.000Z"


class NoStoredRoster:
    def chats(self, chat_ids: Iterable[str]) -> Mapping[str, RosterChat]:
        return {}


def old_release_chat() -> Chat:
    return Chat(title="t", member_ids=["alice", "bob", "carol"], created_by="alice")


def test_the_creator_owns_a_group_and_is_its_only_admin() -> None:
    chat = Chat.start("t", ["bob", "carol"], "alice")
    assert (chat.kind, chat.owner_id, chat.admins) == ("group", "alice", ["alice"])


def test_a_creator_removed_by_an_old_release_leaves_the_oldest_member_owner() -> None:
    chat = old_release_chat()
    # what a release before roles stored: anyone could remove anyone, the creator too
    chat._member_removed(user_id="alice", removed_by="carol")
    assert (chat.owner_id, chat.admins) == ("bob", ["bob"])


def test_an_owner_who_goes_hands_the_chat_to_the_oldest_admin_first() -> None:
    chat = Chat.start("t", ["bob", "carol", "dave"], "alice")
    chat.name_admin("dave", by="alice")
    chat.name_admin("carol", by="alice")
    chat.leave("alice")
    assert (chat.owner_id, chat.admins) == ("dave", ["dave", "carol"])
    assert next_owner("alice", "alice", ["alice", "dave"], ["alice", "bob", "dave"]) == "dave"
    assert next_owner("alice", "alice", ["alice"], ["alice"]) is None


def test_a_snapshot_from_before_roles_is_upcast_to_the_same_owner() -> None:
    for members, creator, owner in ((["alice", "bob"], "alice", "alice"),
                                    (["bob", "carol"], "alice", "bob"),
                                    ([], "alice", None)):
        state = {"member_ids": members, "created_by": creator}
        Chat.upcast_v1_v2(state)
        assert state["owner_id"] == owner
        assert state["admins"] == ([owner] if owner else [])
        assert (state["kind"], state["description"], state["banned"]) == ("group", "", {})


def test_the_roster_read_model_derives_the_owner_the_aggregate_has() -> None:
    created = ChatCreated(position=1, at=AT, chat_id="c", title="t",
                          member_ids=["alice", "bob", "carol"], created_by="alice")
    gone = MemberRemoved(position=2, at=AT, chat_id="c", user_id="alice", removed_by="carol")
    ops = RosterProjection().project([created, gone], NoStoredRoster())
    [info] = ops.info
    chat = old_release_chat()
    chat._member_removed(user_id="alice", removed_by="carol")
    assert (info.owner_id, info.admins) == (chat.owner_id, '["bob"]')
    changed = [r for r in ops.feed.rows if r.type == "admins-changed"]
    assert [json.loads(r.payload) for r in changed] == [
        {"chatId": "c", "admins": ["bob"], "ownerId": "bob"}]


def test_a_hand_over_keeps_the_old_owner_an_admin_in_both() -> None:
    chat = Chat.start("t", ["bob"], "alice")
    chat.hand_over("bob", by="alice")
    assert (chat.owner_id, chat.admins) == ("bob", ["alice", "bob"])
    created = ChatCreated(position=1, at=AT, chat_id="c", title="t", member_ids=["bob"],
                          created_by="alice")
    handed = RoleChanged(position=2, at=AT, chat_id="c", user_id="bob", by="alice",
                         change="owner")
    [info] = RosterProjection().project([created, handed], NoStoredRoster()).info
    assert (info.owner_id, info.admins) == ("bob", '["alice","bob"]')
