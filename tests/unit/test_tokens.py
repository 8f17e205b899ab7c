"""Verified tokens are remembered, never past what a fresh verification would allow."""

import time
from typing import Any

import jwt
import pytest

from infrastructure import tokens as tokens_module
from infrastructure.tokens import InvalidToken, TokenService

SECRET = "s" * 48


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens PyJWT was asked to verify."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(tokens_module.jwt, "decode", counting)
    return seen


def test_a_token_verified_once_is_not_verified_again(decodes: list[str]) -> None:
    service = TokenService(SECRET)
    token = service.issue("alice", 3600)
    assert service.verify(token).user_id == "alice"
    assert service.verify(token).user_id == "alice"
    assert service.verify(f"Bearer {token}").user_id == "alice"  # the REST header's form
    assert decodes == [token, token]  # the header form is another string: verified once


def test_a_remembered_token_is_refused_once_it_expires(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens_module, "LEEWAY_SECONDS", 0)
    service = TokenService(SECRET)
    token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 2}, SECRET, algorithm="HS256")
    assert service.verify(token).user_id == "alice"
    time.sleep(max(0.0, int(time.time()) + 2 - time.time()) + 1.05)
    with pytest.raises(InvalidToken):
        service.verify(token)


def test_an_erased_users_remembered_token_is_refused() -> None:
    service = TokenService(SECRET)
    erased: set[str] = set()
    service.is_erased = erased.__contains__
    token = service.issue("alice", 3600)
    service.verify(token)
    erased.add("alice")
    with pytest.raises(InvalidToken, match="erased"):
        service.verify(token)


def test_a_refused_token_is_checked_again_every_time(decodes: list[str]) -> None:
    service = TokenService(SECRET)
    forged = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, "x" * 48,
                        algorithm="HS256")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            service.verify(forged)
    assert decodes == [forged, forged]


def test_the_least_recently_used_token_is_forgotten_first(
        monkeypatch: pytest.MonkeyPatch, decodes: list[str]) -> None:
    monkeypatch.setattr(tokens_module, "VERIFIED_MAX", 2)
    service = TokenService(SECRET)
    a, b, c = (service.issue(user, 3600) for user in ("a", "b", "c"))
    service.verify(a)
    service.verify(b)
    service.verify(a)  # a is now the most recent
    service.verify(c)  # b goes
    decodes.clear()
    service.verify(a)
    service.verify(c)
    assert decodes == []
    service.verify(b)
    assert decodes == [b]


def test_only_hs256_with_our_key_is_accepted() -> None:
    service = TokenService(SECRET)
    claims = {"sub": "alice", "exp": int(time.time()) + 60}
    for token in (jwt.encode(claims, None, algorithm="none"),
                  jwt.encode(claims, SECRET * 2, algorithm="HS512")):
        with pytest.raises(InvalidToken):
            service.verify(token)
