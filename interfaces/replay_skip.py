"""Where this node last fanned out a replayable row, per chat and per user: a connect
whose user had nothing fanned out since the connect began needs no feed read.

A connect replays what was fanned out between its start and the moment its socket
joins its rooms (`ChatGateway._replay`). In a reconnect storm every connect read the
feed for that (19 % of the connect phase's samples on the executor threads), and
first waited for the read models to reach the delivery cursor, although the rows
that moved the cursor meanwhile were other users' connections, none of them
replayable. This remembers, for every chat and user, the last replayable row's
position, so the read is skipped when none of the user's is after the connect's
start."""

from collections.abc import Iterable

from application.feed import MEMBERSHIP, WITH_OFFSET

# Chats and users remembered at most; then everything is forgotten and connects read
# the feed until the rows they ask about are younger than the forgetting.
MAX_TARGETS = 50_000
REPLAYED = MEMBERSHIP | WITH_OFFSET  # the rows `_replay` sends


class ReplaySkip:
    """On the event loop only."""

    def __init__(self, floor: int = 0) -> None:
        self._last: dict[str, int] = {}
        self._floor = floor  # rows at or below it are not remembered

    def fanned_out(self, position: int, type_: str, chat_id: str | None,
                   user_id: str | None) -> None:
        if type_ not in REPLAYED:
            return
        if len(self._last) >= MAX_TARGETS:
            self._last.clear()
            self._floor = position - 1
        if chat_id is not None:
            self._last[chat_id] = position
        if user_id is not None:
            self._last["user:" + user_id] = position

    def nothing_after(self, after: int, user_id: str, chat_ids: Iterable[str]) -> bool:
        """True when no row of `user_id` or of `chat_ids` was fanned out after `after`."""
        if after < self._floor:
            return False
        last = self._last
        if last.get("user:" + user_id, 0) > after:
            return False
        return all(last.get(chat_id, 0) <= after for chat_id in chat_ids)
