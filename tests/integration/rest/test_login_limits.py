"""Brute force over HTTP: 429 with Retry-After once an account or an address has
failed too often (CONTRACT.md: at most 10 wrong passwords per account per 15 minutes)."""

import asyncio
from collections import Counter
from collections.abc import Callable

import httpx

from tests.conftest import ServerProcess
from tests.integration.rest.helpers import PASSWORD


def test_an_account_is_locked_after_10_wrong_passwords_even_when_guessed_at_once(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
) -> None:
    server = server_factory(sqlite_url)
    http = httpx.Client(base_url=server.url, timeout=60)
    assert http.post("/api/auth/register",
                     json={"username": "victim", "password": PASSWORD}).status_code == 201

    async def guesses() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            return await asyncio.gather(*(
                client.post("/api/auth/login",
                            json={"username": "victim", "password": f"guess-{i:04d}"})
                for i in range(16)))

    answers = asyncio.run(guesses())
    assert Counter(r.status_code for r in answers) == {401: 10, 429: 6}
    refused = http.post("/api/auth/login", json={"username": "victim", "password": PASSWORD})
    assert refused.status_code == 429  # locked: not even the right password is checked
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert refused.json()["code"] == "rate_limited"
    other = http.post("/api/auth/register", json={"username": "bystander", "password": PASSWORD})
    assert other.status_code == 201
    ok = http.post("/api/auth/login", json={"username": "bystander", "password": PASSWORD})
    assert ok.status_code == 200  # the address is not yet over its own limit


def test_one_address_guessing_across_accounts_gets_429_after_its_limit(
    server_factory: Callable[..., ServerProcess], sqlite_url: str,
) -> None:
    server = server_factory(sqlite_url)
    http = httpx.Client(base_url=server.url, timeout=60)
    statuses = [http.post("/api/auth/login",
                          json={"username": f"nobody{i}", "password": "whatever1"}).status_code
                for i in range(51)]
    assert statuses[:50] == [401] * 50
    assert statuses[50] == 429
    last = http.post("/api/auth/login", json={"username": "fresh", "password": "whatever1"})
    assert last.status_code == 429 and int(last.headers["Retry-After"]) > 0
