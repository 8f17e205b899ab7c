"""A batch counts as projected only once its transaction has committed: `wait_for`
(REST's read-your-writes, and every test that reads the read models after it) must
never wake to read models that do not hold the batch yet."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from domain.chat import Chat
from domain.user import User
from infrastructure.eventstore import head_position
from tests.integration.core.conftest import make_container


async def test_a_batch_counts_as_projected_only_once_committed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    container = make_container(database_url, tmp_path)
    try:
        container.store.save(User.register("alice", None, None, False),
                             User.register("bob", None, None, False),
                             Chat.start("team", ["bob"], "alice"))
        head = head_position(container.store)
        runner = container.runner
        transaction = container.db.transaction
        before_commit: list[int] = []

        @contextmanager
        def spied(**options: Any) -> Iterator[Any]:
            with transaction(**options) as tx:
                yield tx
                if not options.get("readonly"):  # a batch applied, not yet committed
                    before_commit.append(runner.position)

        monkeypatch.setattr(container.db, "transaction", spied)
        start = runner.position
        assert runner.catch_up() == head - start
        assert before_commit and before_commit[0] == start < head
        assert runner.position == head
    finally:
        container.close()
