"""When a read can be delivered from the commit: its reader's privacy is known exactly
only if every position between the read models and the batch is this node's own
(infrastructure/commit_feed.py)."""

from types import SimpleNamespace
from typing import Any

from application.projections.history import HistoryProjection
from infrastructure.commit_feed import CommitFeed


def committed(*positions: int) -> list[Any]:
    return [SimpleNamespace(id=p, topic="domain.user:User.Registered", originator_id="u",
                            state=b"{}") for p in positions]


def feed_at(projected: int, hidden: set[str]) -> CommitFeed:
    return CommitFeed(None, HistoryProjection(), lambda readers: (projected, set(hidden)))


def test_own_commits_since_the_read_models_position_make_it_known() -> None:
    feed = feed_at(10, {"carol"})
    feed.batch(committed(11, 12))
    feed.batch(committed(13))
    assert feed._hidden_at(14, 14, ["bob", "carol"]) == {"carol"}


def test_a_position_of_someone_else_in_between_leaves_it_to_the_feed() -> None:
    feed = feed_at(10, set())
    feed.batch(committed(11))
    feed.batch(committed(13))  # 12 was another node's
    assert feed._hidden_at(14, 14, ["bob"]) is None


def test_read_models_already_past_the_batch_are_not_asked() -> None:
    feed = feed_at(20, set())
    feed.batch(committed(14))
    assert feed._hidden_at(14, 14, ["bob"]) is None


def test_read_models_already_inside_the_batch_answer_for_it() -> None:
    # The runner, woken by the store's NOTIFY, projected the batch before the writer
    # asked: the batch holds no privacy change, so the answer is the one at its start.
    feed = feed_at(15, {"carol"})
    feed.batch(committed(14, 15))
    assert feed._hidden_at(14, 15, ["bob", "carol"]) == {"carol"}
