"""Invites (CONTRACT.md, "Chats people run"): 201 `{code, expiresAt, maxUses}`; accept
gives 200 the chat, 404 unknown or revoked, 410 expired or used up, 403 banned; the
last use goes to exactly one of many parallel accepts."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.integration.rest.helpers import Api, User, expect_error, new_chat

RACERS = 10


def invite(admin: User, chat_id: str, **body: Any) -> dict[str, Any]:
    response = admin.http.post(f"/api/chats/{chat_id}/invites", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def accept(user: User, code: str) -> httpx.Response:
    return user.http.post(f"/api/invites/{code}/accept")


def members(user: User, chat_id: str) -> list[str]:
    response = user.http.get(f"/api/chats/{chat_id}")
    assert response.status_code == 200, response.text
    return sorted(response.json()["memberIds"])


def test_an_invite_lets_users_join_until_it_is_used_up(api: Api) -> None:
    owner, joe, kim, lou = (api.user(n) for n in ("owner", "joe", "kim", "lou"))
    chat = new_chat(owner)
    before = datetime.now(UTC)
    created = invite(owner, chat["id"], ttlSeconds=3600, maxUses=2)
    assert created["maxUses"] == 2 and isinstance(created["code"], str)
    expires = datetime.fromisoformat(created["expiresAt"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=3590) < expires < before + timedelta(seconds=3700)
    assert created["expiresAt"].endswith("Z")

    joined = accept(joe, created["code"])
    assert joined.status_code == 200, joined.text
    assert joined.json()["id"] == chat["id"] and joe.id in joined.json()["memberIds"]
    again = accept(joe, created["code"])  # a member accepting again: no change, no use
    assert again.status_code == 200 and again.json()["id"] == chat["id"]
    assert accept(kim, created["code"]).status_code == 200
    expect_error(accept(lou, created["code"]), 410, "gone")
    assert members(owner, chat["id"]) == sorted([owner.id, joe.id, kim.id])


def test_an_invite_without_limits_never_runs_out(api: Api) -> None:
    owner, joe = api.user("owner"), api.user("joe")
    chat = new_chat(owner)
    created = invite(owner, chat["id"])
    assert created["expiresAt"] is None and created["maxUses"] is None
    assert accept(joe, created["code"]).status_code == 200


def test_an_expired_invite_is_gone(api: Api) -> None:
    owner, joe = api.user("owner"), api.user("joe")
    chat = new_chat(owner)
    created = invite(owner, chat["id"], ttlSeconds=1)
    expires = datetime.fromisoformat(created["expiresAt"].replace("Z", "+00:00"))
    while datetime.now(UTC) <= expires:  # the shortest ttl the contract allows
        time.sleep(0.1)
    expect_error(accept(joe, created["code"]), 410, "gone")
    assert joe.id not in members(owner, chat["id"])


def test_a_banned_user_cannot_accept_until_unbanned(api: Api) -> None:
    owner, joe = api.user("owner"), api.user("joe")
    chat = new_chat(owner, joe)
    created = invite(owner, chat["id"])
    ban = owner.http.post(f"/api/chats/{chat['id']}/bans", json={"userId": joe.id})
    assert ban.status_code == 204, ban.text
    expect_error(accept(joe, created["code"]), 403, "forbidden")
    re_add = owner.http.post(f"/api/chats/{chat['id']}/members", json={"userId": joe.id})
    expect_error(re_add, 403, "forbidden")
    assert joe.id not in members(owner, chat["id"])
    assert owner.http.delete(f"/api/chats/{chat['id']}/bans/{joe.id}").status_code == 204
    assert accept(joe, created["code"]).status_code == 200


def test_unknown_and_revoked_invites_are_not_found(api: Api) -> None:
    owner, joe = api.user("owner"), api.user("joe")
    chat = new_chat(owner)
    created = invite(owner, chat["id"])
    other_chat_code = "0" * 32 + created["code"][32:]
    for code in ("nope", "x" * 200, created["code"][:32] + "wrong", other_chat_code):
        expect_error(accept(joe, code), 404, "not_found")
    revoke = owner.http.delete(f"/api/chats/{chat['id']}/invites/{created['code']}")
    assert revoke.status_code == 204, revoke.text
    expect_error(accept(joe, created["code"]), 404, "not_found")
    expect_error(owner.http.delete(f"/api/chats/{chat['id']}/invites/{created['code']}"),
                 404, "not_found")
    assert members(owner, chat["id"]) == [owner.id]


def test_bad_invite_settings_are_invalid(api: Api) -> None:
    owner = api.user("owner")
    chat = new_chat(owner)
    for body, field in (({"ttlSeconds": 0}, "ttlSeconds"), ({"maxUses": 0}, "maxUses"),
                        ({"maxUses": "two"}, "maxUses"), ({"ttlSeconds": 10 ** 9}, "ttlSeconds")):
        expect_error(owner.http.post(f"/api/chats/{chat['id']}/invites", json=body),
                     400, "invalid", field)


async def test_parallel_accepts_of_the_last_use_let_exactly_one_join(api: Api) -> None:
    owner = api.user("owner")
    racers = [api.user(f"racer{i}") for i in range(RACERS)]
    chat = new_chat(owner)
    code = invite(owner, chat["id"], maxUses=1)["code"]

    async def race(user: User) -> httpx.Response:
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            return await client.post(f"/api/invites/{code}/accept",
                                     headers={"Authorization": f"Bearer {user.token}"})

    answers = await asyncio.gather(*(race(u) for u in racers))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [410] * (RACERS - 1), [r.text for r in answers]
    winner = next(u for u, r in zip(racers, answers, strict=True) if r.status_code == 200)
    assert members(owner, chat["id"]) == sorted([owner.id, winner.id])
