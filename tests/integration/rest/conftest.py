"""REST tests talk HTTP (httpx) to a real `eschat serve`.

Most modules share one server per backend (module scope, SQLite then
PostgreSQL) and keep apart by unique user names: starting a server per test
would cost more than the tests. Tests that need special settings or an empty
store use the shared `server` / `server_factory` fixtures instead, in modules
of their own (the function-scoped `database_url` resets PostgreSQL)."""

from collections.abc import Iterator

import pytest

from tests.conftest import PG_URL, ServerProcess, reset_postgres, start_server
from tests.integration.rest.helpers import Api


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if request.param == "postgres":
        reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/eschat.db"
    server = start_server(tmp_path_factory.mktemp("node"), url)
    yield server
    server.stop()


@pytest.fixture
def api(live_server: ServerProcess) -> Iterator[Api]:
    a = Api(live_server.url)
    yield a
    a.close()
