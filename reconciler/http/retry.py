"""Retry policy, backoff delays, Retry-After parsing and the shared backoff gate.

These are the client's timing decisions, kept apart from HTTP so that each can be tested with a
fake clock and a recording ``sleep``: no test here waits on wall time.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.http import waits

if TYPE_CHECKING:
    import random


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries before it gives up.

    ``max_attempts`` counts the first try of a call that fails with 5xx or a network error.
    Backoff doubles from ``base_delay`` up to ``max_delay`` with jitter.

    A 429 spends no attempt: the server asked for time, so time is what is counted. Each wait
    follows Retry-After up to ``retry_after_cap`` seconds (then asks again), and one call gives up
    once its waits would pass ``max_wait`` seconds in total.

    ``timeout`` is a deadline for one attempt as a whole: connecting, sending and reading the
    entire answer, so that a server trickling bytes cannot hold a run.

    >>> RetryPolicy(max_attempts=3, base_delay=0.0).max_attempts
    3
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_cap: float = 60.0
    max_wait: float = 900.0
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        delays = (self.base_delay, self.max_delay, self.retry_after_cap, self.max_wait)
        if not all(math.isfinite(d) and d >= 0 for d in delays):
            raise ValueError("delays must be finite and not negative")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError("timeout must be a positive number of seconds")


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """The pause after failed attempt ``attempt`` (1-based): exponential with "equal jitter".

    Half the delay is fixed so a retry never fires at once; the random half spreads out clients
    that failed together, so they do not all come back in the same instant.

    >>> policy = RetryPolicy(base_delay=1.0, max_delay=30.0)
    >>> 2.0 <= backoff_delay(3, policy) <= 4.0
    True
    """
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** max(0, attempt - 1))
    draw = (rng or random).random()
    return ceiling / 2.0 + draw * ceiling / 2.0


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait according to a Retry-After header, or ``None`` if absent or unreadable.

    The header is either a number of seconds or an HTTP date (RFC 9110, section 10.2.3). A date in
    the past means "now" (0 s).

    >>> parse_retry_after("7")
    7.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT",
    ...                   now=dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC))
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until(http_date: str, now: dt.datetime | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are always UTC
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


class BackoffGate:
    """A thread-safe "not before" time that every request waits on.

    When one thread meets a 429 it pushes the gate forward; every thread sharing the client then
    pauses until that time, instead of each spending its own retries against a server that has
    already said "slow down".
    """

    def __init__(
        self,
        sleep: Callable[[float], None] = waits.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._not_before = -math.inf

    def push(self, delay: float) -> None:
        """Close the gate for ``delay`` seconds from now (never moves it earlier)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + delay)

    def remaining(self) -> float:
        """Seconds until the gate opens; 0 when it is open."""
        with self._lock:
            return max(0.0, self._not_before - self._clock())

    def wait(self) -> float:
        """Return once the gate is open, with the seconds spent sleeping.

        After sleeping, wait again only if another 429 pushed the gate meanwhile. Trusting the
        sleep (rather than the clock) keeps a no-op ``sleep`` in tests from spinning.
        """
        slept = 0.0
        while True:
            with self._lock:
                target = self._not_before
                delay = target - self._clock()
            if delay <= 0:
                return slept
            self._sleep(delay)
            slept += delay
            with self._lock:
                if self._not_before <= target:
                    return slept
