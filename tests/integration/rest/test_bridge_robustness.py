"""Client mistakes in bulk never take the server down.

socketify's ASGI bridge lets the garbage collector free an in-flight request's
task and body queue; the next body chunk then crashed the process. This run of
concurrent, refused requests with bodies crashed it every time before the fix in
interfaces/rest/app.py."""

import asyncio
from collections import Counter
from collections.abc import Callable

import httpx

from tests.conftest import ServerProcess


async def test_hundreds_of_refused_requests_with_bodies_leave_the_server_up(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
) -> None:
    server = server_factory(sqlite_url)
    semaphore = asyncio.Semaphore(50)

    async def one(i: int) -> int | str:
        async with semaphore, httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            try:
                if i % 3 == 0:  # refused before the body is read: 401
                    r = await client.post("/api/chats", json={"title": "x" * (i * 7),
                                                              "memberIds": ["a"]})
                elif i % 3 == 1:  # a large body in several chunks to an unknown chat
                    r = await client.post("/api/chats/nope/messages", content=b"x" * 150_000,
                                          headers={"Content-Type": "application/json"})
                else:
                    r = await client.post("/api/auth/login",
                                          json={"username": "u", "password": "p" * 10})
                return r.status_code
            except httpx.HTTPError as e:
                return type(e).__name__

    results = Counter(await asyncio.gather(*(one(i) for i in range(600))))

    assert set(results) <= {401, 404, 429}, results  # 429: the login limits
    assert server.proc.poll() is None, server.log()[-2000:]
    assert httpx.get(server.url + "/health").status_code == 200
