"""DeliveryBackpressure on its own, with a clock the test moves."""

import pytest

from application.backpressure import DeliveryBackpressure, Overloaded


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sends_are_refused_only_while_the_oldest_undelivered_commit_is_over_budget() -> None:
    clock = Clock()
    gauge = DeliveryBackpressure(budget_ms=300, clock=clock)
    gauge.activate(delivered=10)
    gauge.committed(11)
    clock.now += 0.2
    gauge.committed(12)
    gauge.check()  # 200 ms behind: within budget
    clock.now += 0.2
    with pytest.raises(Overloaded) as refused:
        gauge.check()  # 400 ms behind
    assert refused.value.code == "unavailable"
    assert refused.value.retry_after_ms == 400
    gauge.delivered(11)  # the oldest is out: 12 has waited 200 ms
    gauge.check()
    gauge.delivered(12)
    assert gauge.lag_ms() == 0.0
    assert gauge.refused == 1


def test_retry_after_is_clamped() -> None:
    clock = Clock()
    gauge = DeliveryBackpressure(budget_ms=1, clock=clock)
    gauge.activate(delivered=0)
    gauge.committed(1)
    clock.now += 0.002
    with pytest.raises(Overloaded) as soon:
        gauge.check()
    assert soon.value.retry_after_ms == 100
    clock.now += 60
    with pytest.raises(Overloaded) as late:
        gauge.check()
    assert late.value.retry_after_ms == 5000


def test_inactive_or_zero_budget_never_refuses() -> None:
    clock = Clock()
    idle = DeliveryBackpressure(budget_ms=300, clock=clock)  # no delivery side: the CLI
    idle.committed(1)
    clock.now += 10
    idle.check()
    off = DeliveryBackpressure(budget_ms=0, clock=clock)
    off.activate(delivered=0)
    off.committed(1)
    clock.now += 10
    off.check()


def test_a_commit_already_delivered_does_not_count() -> None:
    clock = Clock()
    gauge = DeliveryBackpressure(budget_ms=300, clock=clock)
    gauge.activate(delivered=0)
    gauge.delivered(5)  # the fan-out got there before the writer reported the commit
    gauge.projected(5)  # and so did the read models
    gauge.committed(5)
    clock.now += 10
    gauge.check()


def test_read_models_behind_by_twice_the_budget_refuse_sends_too() -> None:
    # The node delivers its own commits at once, but a membership change or another
    # node's message comes through the read models: they may not fall far behind.
    clock = Clock()
    gauge = DeliveryBackpressure(budget_ms=300, clock=clock)
    gauge.activate(delivered=0)
    gauge.committed(1)
    gauge.delivered(1)
    clock.now += 0.5
    gauge.check()  # delivered; the read models 500 ms behind: within twice the budget
    clock.now += 0.2
    with pytest.raises(Overloaded) as refused:
        gauge.check()  # 700 ms
    assert refused.value.retry_after_ms == 350
    gauge.projected(1)
    gauge.check()
