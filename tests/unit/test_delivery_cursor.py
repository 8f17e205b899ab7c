"""The node's delivery cursor: its own commits at once when nothing comes before them,
everything in store order, each position once (application/delivery.py)."""

from application.delivery import Committed, DeliveryCursor, Row


def row(position: int, type_: str = "new-message") -> Row:
    return (position, type_, "c", None, "{}")


class Sockets:
    def __init__(self) -> None:
        self.got: list[int] = []

    def publish(self, rows: list[Row]) -> None:
        self.got.extend(r[0] for r in rows)


def cursor_at(position: int) -> tuple[DeliveryCursor, Sockets]:
    sockets = Sockets()
    return DeliveryCursor(position, sockets.publish), sockets


def test_a_commit_right_after_what_was_delivered_goes_out_at_once() -> None:
    cursor, sockets = cursor_at(10)
    cursor.committed(Committed(11, 12, [row(11), row(12)]))
    assert sockets.got == [11, 12]
    assert cursor.delivered == 12


def test_the_feed_then_skips_what_the_commit_delivered() -> None:
    cursor, sockets = cursor_at(10)
    cursor.committed(Committed(11, 12, [row(11), row(12)]))
    cursor.followed([row(11), row(12), row(13)], 13)
    assert sockets.got == [11, 12, 13]


def test_a_commit_after_a_gap_waits_for_the_feed_to_fill_it() -> None:
    # Position 11 was another node's: the commit at 12 must not overtake it.
    cursor, sockets = cursor_at(10)
    cursor.committed(Committed(12, 12, [row(12)]))
    assert sockets.got == []
    cursor.followed([row(11)], 11)
    assert sockets.got == [11, 12]
    assert cursor.delivered == 12


def test_a_hole_in_the_log_is_passed_once_the_feed_has_passed_it() -> None:
    # A rolled-back batch used 11: the feed says "complete up to 11" with no row.
    cursor, sockets = cursor_at(10)
    cursor.committed(Committed(12, 13, [row(12), row(13)]))
    cursor.followed([], 11)
    assert sockets.got == [12, 13]


def test_a_commit_only_the_feed_can_shape_holds_back_the_commits_after_it() -> None:
    cursor, sockets = cursor_at(10)
    cursor.committed(Committed(11, 11, None))  # a member added: rows from the read models
    cursor.committed(Committed(12, 12, [row(12)]))
    assert sockets.got == []
    cursor.followed([row(11, "chat-added")], 11)
    assert sockets.got == [11, 12]


def test_the_feed_passing_a_waiting_commit_delivers_it_once() -> None:
    cursor, sockets = cursor_at(10)
    cursor.committed(Committed(12, 13, [row(12), row(13)]))
    cursor.followed([row(11), row(12), row(13)], 13)
    assert sockets.got == [11, 12, 13]
    cursor.followed([], 13)
    assert sockets.got == [11, 12, 13]


def test_the_feed_ending_inside_a_waiting_commit_hands_over_the_rest() -> None:
    cursor, sockets = cursor_at(10)
    cursor.committed(Committed(12, 14, [row(12), row(13), row(14)]))
    cursor.followed([row(11), row(12)], 12)
    assert sockets.got == [11, 12, 13, 14]


def test_a_commit_the_feed_already_delivered_is_dropped() -> None:
    cursor, sockets = cursor_at(10)
    cursor.followed([row(11)], 11)
    cursor.committed(Committed(11, 11, [row(11)]))
    assert sockets.got == [11]
    assert cursor.waiting == 0


def test_a_commit_with_no_rows_moves_the_cursor() -> None:
    cursor, sockets = cursor_at(10)
    cursor.committed(Committed(11, 11, []))  # a user registered: nothing for sockets
    cursor.committed(Committed(12, 12, [row(12)]))
    assert sockets.got == [12]
    assert cursor.delivered == 12
