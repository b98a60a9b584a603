"""Interruptible waits: every pause of the client ends at once when the run is interrupted.

Only the main thread receives signals. A worker thread asleep in ``time.sleep`` (a long
Retry-After, a backoff, the pacer, a wait for lost answers) would keep the process waiting up
to the whole pause after Ctrl-C or SIGTERM, and CI kills a job that does not stop. So every
such pause waits on one process-wide ``threading.Event`` instead: ``interrupt()`` (called by
the signal handler, and by the main thread when Ctrl-C reaches it) wakes every sleeper, which
raises ``Interrupted``; ``resume()`` lets waits wait again, for the listing that settles the
outcomes.
"""

from __future__ import annotations

import threading

_WAKE = threading.Event()


class Interrupted(KeyboardInterrupt):
    """A wait ended by an interrupt before its request was sent: the request changed nothing."""


def sleep(seconds: float) -> None:
    """Sleep ``seconds``, or raise ``Interrupted`` as soon as the run is interrupted."""
    if _WAKE.is_set() or (seconds > 0 and _WAKE.wait(seconds)):
        raise Interrupted


def interrupt() -> None:
    """End every wait now, and every wait started until ``resume``."""
    _WAKE.set()


def resume() -> None:
    """Let waits wait again (once the interrupted requests have stopped)."""
    _WAKE.clear()


def interrupted() -> bool:
    """Whether waits are being cut short."""
    return _WAKE.is_set()
