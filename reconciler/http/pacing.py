"""Client-side pacing: stay under the API's rate limit instead of meeting its 429s.

Socket publishes a limit of 600 requests a minute. A large apply (thousands of DELETEs at
``--concurrency 8``) would pass it within seconds and then spend its time in Retry-After waits
that may be long. A ``Pacer`` is a token bucket that every thread of one client draws from
before each attempt: a burst of a tenth of the rate goes at once (so small runs are not slowed),
and the bucket refills with the other nine tenths spread over the minute. However requests are
timed, no window of 60 seconds then holds more than the rate.

The rate comes from ``SOCKET_TRIAGE_RATE`` (requests a minute; ``0`` or ``off`` turns pacing
off). Without it a remote API is paced at Socket's limit, and a loopback server or the embedded
``local:`` emulator not at all, so that tests and benchmarks run at full speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from reconciler.errors import UsageError
from reconciler.http import waits

RATE_ENV: Final = "SOCKET_TRIAGE_RATE"
# Requests a minute that Socket's API allows (its published rate limit).
SOCKET_RATE_LIMIT: Final = 600
# A per-minute rate above this is not a limit worth pacing to; it is a typing mistake.
MAX_RATE: Final = 1_000_000
_OFF: Final = frozenset({"0", "off", "none"})


@dataclass(frozen=True)
class Rate:
    """At most ``per_minute`` requests in any 60 seconds: a burst, then a steady refill.

    >>> Rate(600).burst, Rate(600).per_second
    (60.0, 9.0)
    """

    per_minute: int

    def __post_init__(self) -> None:
        if not 1 <= self.per_minute <= MAX_RATE:
            raise ValueError(f"a rate is 1 to {MAX_RATE} requests a minute")

    @property
    def burst(self) -> float:
        """Requests that may go at once: a tenth of the minute's allowance, at least one."""
        return max(1.0, self.per_minute / 10)

    @property
    def per_second(self) -> float:
        """The refill, so that the burst plus a minute of refill is the rate."""
        return max(self.per_minute - self.burst, 1.0) / 60


def rate_from_env(env: Mapping[str, str], *, remote: bool) -> Rate | None:
    """The pacing ``SOCKET_TRIAGE_RATE`` asks for; when unset, Socket's limit for a remote API.

    >>> rate_from_env({}, remote=True), rate_from_env({}, remote=False)
    (Rate(per_minute=600), None)
    >>> rate_from_env({"SOCKET_TRIAGE_RATE": "120"}, remote=False)
    Rate(per_minute=120)
    >>> rate_from_env({"SOCKET_TRIAGE_RATE": "off"}, remote=True) is None
    True
    """
    text = env.get(RATE_ENV, "").strip()
    if not text:
        return Rate(SOCKET_RATE_LIMIT) if remote else None
    if text.lower() in _OFF:
        return None
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_RATE):
        raise UsageError(
            f"{RATE_ENV}={text[:20]!r} is not a number of requests a minute: use 1 to "
            f"{MAX_RATE} (Socket allows {SOCKET_RATE_LIMIT}), or 0 to turn pacing off"
        )
    return Rate(int(text))


class Pacer:
    """A token bucket shared by every thread of a client; ``acquire`` before each request.

    A caller reserves the next token under the lock and sleeps outside it, so threads are
    released one token apart in the order they asked, and none holds the lock while waiting.
    The bucket starts full.
    """

    def __init__(
        self,
        rate: Rate,
        sleep: Callable[[float], None] = waits.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = rate.burst  # below zero: tokens already promised to waiting callers
        self._at = clock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is there; the seconds slept."""
        with self._lock:
            now = self._clock()
            refill = (now - self._at) * self.rate.per_second
            self._tokens = min(self.rate.burst, self._tokens + refill) - 1.0
            self._at = now
            wait = -self._tokens / self.rate.per_second if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
