from pathlib import Path

import pytest

from tests.conftest import PG_URL, reset_postgres


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """(database URL, data folder): a store whose SQLite files all lie in the data folder,
    so a test can search every file of it (erasure, retention)."""
    data = tmp_path / "data"
    data.mkdir()
    if request.param == "postgres":
        reset_postgres()
        return PG_URL, data
    return f"sqlite:///{data}/eschat.db", data
