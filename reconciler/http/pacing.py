"""Client-side pacing: stay under the API's rate limit instead of meeting its 429s.

Socket documents its limit as at most 600 requests in any 60 seconds, with a 429 and a
Retry-After past it. A ``Pacer`` keeps exactly that window, shared by every thread of one
client: a request goes at once while fewer than the rate were sent in the last minute (plus
``MARGIN``), else it waits until the oldest of them leaves the window. A run of fewer requests
than the rate is never slowed; a larger one is bound by the window alone (1,000 requests: 600
at once, the other 400 a minute later). Should the server answer 429 all the same (another
client on the same token, a server that counts differently), the shared gate waits out its
Retry-After and the pacer allows a fifth fewer requests per window from then on.

The rate comes from ``SOCKET_TRIAGE_RATE`` (requests a minute; ``0`` or ``off`` turns pacing
off). Without it a remote API is paced at Socket's limit, and a loopback server or the embedded
``local:`` emulator not at all, so that tests and benchmarks run at full speed.
"""

from __future__ import annotations

import collections
import math
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
# Socket's window, and what is added to it: a request sent a minute after another may reach
# the server a little sooner than that.
WINDOW: Final = 60.0
MARGIN: Final = 1.0
# After a 429 the window holds this share of what it held.
SLOWER: Final = 0.8


@dataclass(frozen=True)
class Rate:
    """At most ``per_minute`` requests in any 60 seconds.

    >>> Rate(600).per_minute
    600
    """

    per_minute: int

    def __post_init__(self) -> None:
        if not 1 <= self.per_minute <= MAX_RATE:
            raise ValueError(f"a rate is 1 to {MAX_RATE} requests a minute")

    def seconds_for(self, requests: int) -> float:
        """The least time ``requests`` take under this rate, paced by the window.

        >>> Rate(600).seconds_for(248), Rate(600).seconds_for(1000)
        (0.0, 61.0)
        """
        windows = max(0, requests - 1) // self.per_minute
        return windows * (WINDOW + MARGIN)


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
    """A sliding window shared by every thread of a client; ``acquire`` before each request.

    A caller reserves its slot under the lock and sleeps outside it, so threads are let
    through in the order they asked, and none holds the lock while waiting.
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
        self._limit = rate.per_minute
        self._slowed_at = -math.inf
        # The slots handed out, oldest first: only the last ``per_minute`` can matter.
        self._slots: collections.deque[float] = collections.deque(maxlen=rate.per_minute)

    @property
    def limit(self) -> int:
        """Requests allowed in any window now (the rate, less after a 429)."""
        with self._lock:
            return self._limit

    def acquire(self) -> float:
        """Wait for a slot in the window; the seconds slept."""
        with self._lock:
            now = self._clock()
            slot = now
            if self._slots:
                slot = max(slot, self._slots[-1])  # never ahead of one who asked first
            if len(self._slots) >= self._limit:
                slot = max(slot, self._slots[-self._limit] + WINDOW + MARGIN)
            self._slots.append(slot)
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)

    def slow_down(self) -> None:
        """The server answered 429 although we kept to the window: allow a fifth fewer.

        Once per window: the threads that meet the same 429 together slow it down once.
        """
        with self._lock:
            now = self._clock()
            if now - self._slowed_at >= WINDOW:
                self._slowed_at = now
                self._limit = max(1, int(self._limit * SLOWER))
