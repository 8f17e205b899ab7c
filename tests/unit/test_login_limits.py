"""The login limiter on its own, with a clock the test moves."""

import pytest

from interfaces.rest.login_limits import LoginLimiter, LoginThrottled


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_eleventh_wrong_password_in_15_minutes_is_refused_with_the_wait() -> None:
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    for _ in range(10):
        limiter.begin("alice", "10.0.0.1")
        clock.now += 1
    with pytest.raises(LoginThrottled) as refused:
        limiter.begin("alice", "10.0.0.2")  # another address does not help
    assert refused.value.retry_after_s == 15 * 60 - 10
    clock.now = 1000.0 + 15 * 60 + 0.5  # the first failure has left the window
    limiter.begin("alice", "10.0.0.1")


def test_right_passwords_do_not_count() -> None:
    limiter = LoginLimiter(clock=Clock())
    for _ in range(50):
        limiter.forgive(limiter.begin("alice", "10.0.0.1"))
    limiter.begin("alice", "10.0.0.1")


def test_one_address_trying_many_accounts_is_refused_after_its_limit() -> None:
    limiter = LoginLimiter(clock=Clock(), per_address=50)
    for i in range(50):
        limiter.begin(f"user{i}", "10.0.0.9")
    with pytest.raises(LoginThrottled):
        limiter.begin("someone-else", "10.0.0.9")
    limiter.begin("someone-else", "10.0.0.10")


def test_attempts_in_flight_count_so_concurrent_guesses_cannot_pass_the_limit() -> None:
    limiter = LoginLimiter(clock=Clock())
    started = [limiter.begin("alice", f"10.0.1.{i}") for i in range(10)]  # none finished
    with pytest.raises(LoginThrottled):
        limiter.begin("alice", "10.0.2.1")
    limiter.forgive(started[0])  # that one had the right password
    limiter.begin("alice", "10.0.2.1")


def test_the_number_of_tracked_keys_is_bounded() -> None:
    limiter = LoginLimiter(clock=Clock(), max_keys=100, per_address=10**6)
    for i in range(1000):
        limiter.begin(f"user{i}", "10.0.0.1")
    assert len(limiter._accounts._times) == 100
