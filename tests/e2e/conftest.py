from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tests.e2e.clients import JsClient, PyClient


@pytest.fixture
async def js_clients() -> AsyncIterator[Callable[[str], Awaitable[JsClient]]]:
    made: list[JsClient] = []

    async def make(url: str) -> JsClient:
        client = await JsClient(url).start()
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()



@pytest.fixture
async def py_clients() -> AsyncIterator[Callable[[], PyClient]]:
    made: list[PyClient] = []

    def make() -> PyClient:
        client = PyClient()
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_chat(url: str, token: str, *members: str) -> str:
    response = httpx.post(f"{url}/api/chats", json={"title": "t", "memberIds": list(members)},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def history(url: str, token: str, chat_id: str, **params: int) -> list[dict[str, object]]:
    response = httpx.get(f"{url}/api/chats/{chat_id}/messages", params={"limit": 200, **params},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    messages: list[dict[str, object]] = response.json()["messages"]
    return messages
