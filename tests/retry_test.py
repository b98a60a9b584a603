from __future__ import annotations

import datetime as dt
import random

import pytest

from reconciler.http.retry import BackoffGate, RetryPolicy, backoff_delay, parse_retry_after

NOW = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:29:00 -0000", 60.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past: go now
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize("attempt", [1, 2, 3, 8, 20])
def test_backoff_is_jittered_exponential_and_capped(attempt: int) -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    ceiling = min(10.0, 2.0 ** (attempt - 1))
    delays = {backoff_delay(attempt, policy, random.Random(seed)) for seed in range(20)}
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(delays) > 1


# http/retry.py (backoff_delay): the random half spans the whole upper half of the delay.
def test_backoff_jitter_reaches_from_half_the_delay_to_all_of_it() -> None:
    class Draw(random.Random):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def random(self) -> float:
            return self.value

    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    assert [backoff_delay(3, policy, Draw(d)) for d in (0.0, 0.5, 1.0)] == [2.0, 3.0, 4.0]


_DELAYS = "delays must be finite and not negative"
_TIMEOUT = "timeout must be a positive number of seconds"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"base_delay": -1.0}, _DELAYS),
        ({"timeout": 0.0}, _TIMEOUT),
        ({"timeout": float("inf")}, _TIMEOUT),
        ({"max_wait": -1.0}, _DELAYS),
        ({"max_wait": float("nan")}, _DELAYS),
        ({"retry_after_cap": float("inf")}, _DELAYS),
    ],
)
def test_retry_policy_rejects_nonsense_saying_which_setting(
    kwargs: dict[str, float], message: str
) -> None:
    """A program building its own policy reads which setting it got wrong."""
    with pytest.raises(ValueError) as raised:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(raised.value) == message


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_gate_waits_until_the_latest_push() -> None:
    clock = FakeClock()
    gate = BackoffGate(clock.sleep, clock)
    gate.wait()
    assert clock.sleeps == []
    gate.push(5.0)
    gate.push(2.0)  # never moves the gate earlier
    assert gate.remaining() == 5.0
    assert gate.wait() == 5.0  # what it slept: the time a 429 budget is charged
    assert clock.sleeps == [5.0]
    assert gate.remaining() == 0.0
    assert gate.wait() == 0.0  # open from the very instant it reaches its time: no sleep
    assert clock.sleeps == [5.0]
    gate.push(0.5)  # a Retry-After under a second is waited out too
    assert gate.wait() == 0.5
    assert clock.sleeps == [5.0, 0.5]


def test_gate_trusts_sleep_and_waits_again_only_when_pushed_meanwhile() -> None:
    sleeps: list[float] = []
    gate = BackoffGate(sleeps.append, lambda: 0.0)  # a clock that never moves
    gate.push(3.0)
    gate.wait()  # returns although the clock did not move: no spinning
    assert sleeps == [3.0]

    def sleep_and_get_pushed(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            gate.push(9.0)

    gate = BackoffGate(sleep_and_get_pushed, lambda: 0.0)
    gate.push(3.0)
    assert gate.wait() == 12.0
    assert sleeps == [3.0, 3.0, 9.0]
