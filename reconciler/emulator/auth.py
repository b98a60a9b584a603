"""Org tokens, their scopes, per-token quota and rate limit.

Socket takes an org token either as ``Authorization: Bearer <token>`` or as the user of HTTP basic
auth with an empty password. Tokens live in memory only: they are configuration of a run, not
state, so a restarted emulator is told its tokens again.
"""

from __future__ import annotations

import base64
import binascii
import collections
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# What ``GET /v0/quota`` says of a token without a limit (Socket always answers a number).
UNLIMITED = 1_000_000
# An umbrella scope grants every ``umbrella:*`` scope (inferred; Socket lists both kinds).
UMBRELLAS = ("alert-policy", "alert-resolution", "triage")


@dataclass(frozen=True)
class Token:
    """A known token: its org, what it may do, and the repositories it is limited to.

    ``repos=None`` is org-wide repository access; a set restricts the token to those repos.
    """

    org: str
    scopes: frozenset[str]
    repos: frozenset[str] | None = None

    def grants(self, scope: str) -> bool:
        """Whether the token holds ``scope``, itself or through its umbrella.

        >>> Token("acme", frozenset({"alert-policy"})).grants("alert-policy:create")
        True
        """
        umbrella = scope.partition(":")[0]
        return scope in self.scopes or (umbrella in UMBRELLAS and umbrella in self.scopes)


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The token an ``Authorization`` header carries, or ``None`` when there is none usable.

    >>> token_from_headers({"authorization": "Bearer sktsec_x"})
    'sktsec_x'
    >>> token_from_headers({"Authorization": "Basic " + base64.b64encode(b"sktsec_x:").decode()})
    'sktsec_x'
    """
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, _password = decoded.partition(":")
        return user or None
    return None


class Keyring:
    """The accepted tokens. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}

    def add(
        self, token: str, org: str, scopes: Iterable[str], repos: Iterable[str] | None = None
    ) -> None:
        limited = None if repos is None else frozenset(repos)
        with self._lock:
            self._tokens[token] = Token(org, frozenset(scopes), limited)

    def get(self, token: str | None) -> Token | None:
        if token is None:
            return None
        with self._lock:
            return self._tokens.get(token)


class Quota:
    """A token bucket per token: ``size`` units, refilled at ``refill_per_second``.

    ``size=None`` means unlimited. With no refill, a spent bucket stays spent; the Retry-After
    sent then is ``NO_REFILL_RETRY_AFTER`` seconds, an honest "not soon".
    """

    NO_REFILL_RETRY_AFTER = 3600

    def __init__(
        self,
        size: int | None,
        refill_per_second: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._size = size
        self._refill = refill_per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # token -> (units, at)

    def spend(self, token: str) -> int | None:
        """Take one unit. ``None`` on success, else the whole seconds to wait (Retry-After)."""
        if self._size is None:
            return None
        now = self._clock()
        with self._lock:
            units, at = self._buckets.get(token, (float(self._size), now))
            units = min(float(self._size), units + (now - at) * self._refill)
            if units >= 1.0:
                self._buckets[token] = (units - 1.0, now)
                return None
            self._buckets[token] = (units, now)
        if self._refill <= 0:
            return self.NO_REFILL_RETRY_AFTER
        return max(1, math.ceil((1.0 - units) / self._refill))

    def remaining(self, token: str) -> tuple[int, int]:
        """(units left, the bucket's size) for ``token``, without spending; ``UNLIMITED`` for
        both when there is no limit."""
        if self._size is None:
            return UNLIMITED, UNLIMITED
        now = self._clock()
        with self._lock:
            units, at = self._buckets.get(token, (float(self._size), now))
        return int(min(float(self._size), units + (now - at) * self._refill)), self._size

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


class RateWindow:
    """Socket's rate limit: at most ``limit`` requests per token in any ``window`` seconds.

    ``limit=None`` means no limit. Past it the answer is 429 with the whole seconds until the
    oldest request of the window leaves it; a refused request does not count.
    """

    def __init__(
        self,
        limit: int | None,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, collections.deque[float]] = {}

    def admit(self, token: str) -> int | None:
        """Count one request. ``None`` when admitted, else the Retry-After in whole seconds."""
        if self.limit is None:
            return None
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(token, collections.deque())
            while seen and seen[0] <= now - self._window:
                seen.popleft()
            if len(seen) >= self.limit:
                return max(1, math.ceil(seen[0] + self._window - now))
            seen.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
