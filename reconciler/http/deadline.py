"""A total deadline for one request, whatever the server's pace.

Socket timeouts apply to each operation, so a server that trickles one byte at a time can hold a
request for ever. ``HttpClient`` sets a deadline around each attempt (per thread); the
transports give every connect, read and write at most the time left until it (``left``), so one
attempt ends within its timeout however the server paces its bytes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

_local = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within the block, this thread's network I/O must finish ``seconds`` from now."""
    _local.until = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.until = None


def left(timeout: float | None, expired: type[Exception]) -> float | None:
    """The smaller of an operation's own timeout and the time left until the deadline.

    Raises ``expired`` once the deadline has passed.
    """
    until: float | None = getattr(_local, "until", None)
    if until is None:
        return timeout
    remaining = until - time.monotonic()
    if remaining <= 0:
        raise expired("the request's deadline passed")
    return remaining if timeout is None else min(timeout, remaining)
