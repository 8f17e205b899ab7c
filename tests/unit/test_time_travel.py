"""Time travel's pure part (application/time_travel.py): replaying a page's events up to
a position, and the seq ranges a member sees, with no database."""

from application.projections.events import (
    MessageDeleted,
    MessageEdited,
    MessageSent,
    PinChanged,
    ReactionChanged,
)
from application.time_travel import replay, views, visible_ranges

AT = "2026-01-01T00:00:00.000Z"


def sent(position: int, message_id: str, sender: str = "alice") -> MessageSent:
    return MessageSent(position=position, at=AT, message_id=message_id, chat_id="c",
                       sender_id=sender, content=f"text {message_id}", client_message_id=None)


def test_a_replayed_page_is_each_message_as_its_events_up_to_then_leave_it() -> None:
    events = [
        sent(10, "m1"), sent(11, "m2", "bob"),
        MessageEdited(position=12, at="2026-01-01T00:00:12.000Z", message_id="m1", chat_id="c",
                      seq=10, content="better", mentions=["bob"]),
        ReactionChanged(position=13, at=AT, message_id="m1", chat_id="c", user_id="carol",
                        emoji="🎉", added=True),
        ReactionChanged(position=14, at=AT, message_id="m1", chat_id="c", user_id="bob",
                        emoji="👍", added=True),
        ReactionChanged(position=15, at=AT, message_id="m1", chat_id="c", user_id="dave",
                        emoji="🎉", added=True),
        ReactionChanged(position=16, at=AT, message_id="m1", chat_id="c", user_id="carol",
                        emoji="🎉", added=False),
        PinChanged(position=17, at=AT, message_id="m2", chat_id="c", seq=11, by="alice",
                   pinned=True),
        MessageDeleted(position=18, at=AT, message_id="m2", chat_id="c", seq=11, by="bob"),
    ]
    marks = {"bob": (10, 11), "carol": (11, 11), "dave": (0, 10)}
    page = views([("m1", 10), ("m2", 11)], replay(events), {"m1": (2, AT)}, marks,
                 hidden={"carol"})
    m1, m2 = page
    assert (m1.content, m1.edited_at, m1.mentions) == ("better", "2026-01-01T00:00:12.000Z",
                                                       ["bob"])
    assert m1.reactions == {"👍": ["bob"], "🎉": ["dave"]}
    assert (m1.thread_reply_count, m1.thread_last_reply_at) == (2, AT)
    assert m1.read_by == ["bob"]  # carol's receipts are hidden: delivered only
    assert m1.delivered_to == ["bob", "carol", "dave"]
    assert (m2.content, m2.deleted, m2.pinned, m2.mentions) == (None, True, True, [])
    assert m2.read_by == [] and m2.delivered_to == ["carol"]  # bob sent it

    before_edit = views([("m1", 10)], replay(events[:2]), {}, {}, set())
    assert (before_edit[0].content, before_edit[0].edited_at) == ("text m1", None)


def test_a_member_sees_the_seqs_of_their_spans_up_to_the_position() -> None:
    spans = [(5, 20), (30, None)]  # removed at 20, added again at 30
    assert visible_ranges(spans, 25) == [(5, 19)]
    assert visible_ranges(spans, 40) == [(5, 19), (30, 40)]
    assert visible_ranges(spans, 12) == [(5, 12)]
    assert visible_ranges([(5, 6)], 40) == [(5, 5)]
