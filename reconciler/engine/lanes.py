"""Requests ``concurrency`` at a time that all stop at the first failure: apply's one runner.

A lane is a sequence of requests that must go one after the other (a policy's creates and
moves, each placed next to a rule the one before put in place); different lanes share nothing,
so they run side by side. A lane asks ``stop()`` before each request: once any lane fails, or
Ctrl-C arrives, no new request starts, the requests in flight finish, and then the first
failure is raised (a KeyboardInterrupt before any other), so that the result says exactly what
was sent. ``parallel`` is the same for single requests (the triage batches and deletes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from reconciler.http import waits

Stop = Callable[[], bool]
Lane = Callable[[Stop], None]
T = TypeVar("T")


def run_lanes(lanes: Sequence[Lane], concurrency: int) -> None:
    """Run every lane, at most ``concurrency`` at once; raise the first failure."""
    stopped = threading.Event()

    def start(lane: Lane) -> None:
        lane(stopped.is_set)

    if len(lanes) <= 1 or concurrency <= 1:
        for lane in lanes:  # no thread to wait for: Ctrl-C arrives in the request itself
            _guarded(stopped, start, lane)
        return
    _in_threads(lanes, start, concurrency, stopped)


def parallel(items: Sequence[T], send: Callable[[T], None], concurrency: int) -> None:
    """Call ``send`` on every item, ``concurrency`` at a time; stop at the first failure.

    Always from worker threads, even one at a time, so that Ctrl-C lets the request in flight
    finish rather than cutting it off with its outcome unknown.
    """
    _in_threads(items, send, concurrency, threading.Event())


def _guarded(stopped: threading.Event, send: Callable[[T], None], item: T) -> None:
    if stopped.is_set():
        return
    try:
        send(item)
    except BaseException:
        stopped.set()
        raise


def _in_threads(
    items: Sequence[T], send: Callable[[T], None], concurrency: int, stopped: threading.Event
) -> None:
    """Items not yet started when one fails, or when Ctrl-C arrives, are never sent; the ones
    in flight are let finish. Then the first failure is raised, a KeyboardInterrupt first."""
    pool = ThreadPoolExecutor(max_workers=concurrency)
    busy = _Busy()
    try:
        futures = [pool.submit(busy.run, _guarded, stopped, send, item) for item in items]
        wait(futures)
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) in the main thread while waiting
        stopped.set()
        waits.interrupt()  # a worker asleep in a Retry-After or backoff wakes now, unsent
        raise
    finally:
        # The items still queued see ``stopped`` and return unsent: nothing to cancel.
        pool.shutdown(wait=True)
        # A Ctrl-C inside ``submit`` can leave a worker the pool never recorded, so its
        # shutdown does not wait for it: wait for every item that has started, whatever ran it.
        busy.idle()
    errors = [e for f in futures if (e := f.exception()) is not None]
    for error in errors:
        if isinstance(error, KeyboardInterrupt):
            raise error
    if errors:
        raise errors[0]


class _Busy:
    """How many items are inside ``send`` right now, to wait until none is.

    An item counts itself in before it looks at ``stopped``: so once ``stopped`` is set, an
    item either was counted (and is waited for) or sees it and returns unsent.
    """

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def run(self, guarded: Callable[..., None], *args: object) -> None:
        with self._changed:
            self._count += 1
        try:
            guarded(*args)
        finally:
            with self._changed:
                self._count -= 1
                self._changed.notify_all()

    def idle(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._count == 0)
