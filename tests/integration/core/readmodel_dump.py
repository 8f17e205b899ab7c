"""Reads every read-model row, sorted, so two states compare row for row."""

from typing import Any

from interfaces.server import Container, projections


def dump_read_models(container: Container) -> dict[str, list[tuple[Any, ...]]]:
    tables = [t for p in projections() for t in p.tables] + ["rm_feed", "rm_tracking"]
    with container.db.transaction(readonly=True) as tx:
        return {t: sorted(tx.fetchall(f"SELECT * FROM {t}"), key=repr) for t in tables}
