"""How each change of an apply ended, whatever the API: applied, not applied, outcome unknown.

A change is *not applied* until sent, *outcome unknown* from the moment its request leaves until
the server confirms it (its answer, or a listing that shows it), and *applied* after. A refusal
(``refused``) changed nothing; any other failure may still commit at the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from reconciler.errors import ApiError, OutcomeUnknownError, ReconcilerError
from reconciler.http import waits

APPLIED: Final = "applied"
NOT_APPLIED: Final = "not applied"
UNKNOWN: Final = "outcome unknown"

C = TypeVar("C")  # a provider's change type
A = TypeVar("A")  # a provider's final listing


def refused(error: BaseException) -> bool:
    """Whether a failed write certainly changed nothing: the server refused it (4xx, not 429).

    Anything else (5xx, a lost answer, a 429 after an earlier try) may have committed. An
    interrupt that ended the wait before the request was sent changed nothing either.
    """
    if isinstance(error, waits.Interrupted):
        return True
    status = getattr(error, "status", None)
    return (
        isinstance(error, ApiError)
        and not isinstance(error, OutcomeUnknownError)
        and status is not None
        and 400 <= status < 500
        and status != 429
    )


def statuses(
    changes: Iterable[C], applied: Set[int], unknown: Set[int]
) -> tuple[tuple[C, str], ...]:
    """Each change with its outcome, given the ``id()`` of those applied and those unknown."""
    return tuple(
        (c, APPLIED if id(c) in applied else UNKNOWN if id(c) in unknown else NOT_APPLIED)
        for c in changes
    )


@dataclass(kw_only=True)
class Outcomes:
    """What every provider's apply result holds besides its changes' outcomes.

    ``error`` is set when the apply stopped part-way, ``interrupted`` on Ctrl-C; ``lock``
    guards the result across the lanes; ``progress`` hears of each change applied.
    """

    error: ReconcilerError | None = None
    interrupted: bool = False
    # When the last request that may still commit failed (time.monotonic), if any did.
    last_uncertain: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    progress: Callable[[int], None] | None = field(default=None, repr=False)

    def uncertain(self) -> None:
        """A request failed in a way that may still commit at the server."""
        with self.lock:
            self.last_uncertain = time.monotonic()

    def wait_for_lost_answers(self, seconds: float) -> None:
        """Sleep until ``seconds`` have passed since the last request whose answer was lost."""
        with self.lock:
            last = self.last_uncertain
        if last is not None:
            waits.sleep(max(0.0, last + seconds - time.monotonic()))


@dataclass(frozen=True)
class Conclusion(Generic[C, A]):
    """How one org's apply ended.

    ``statuses``: every change of the plan, in plan order, with its outcome. ``problems``: how
    the org still differs from the plan (checked only after a complete apply). ``after``: the
    final listing, or None when ``listing_error`` (or an interrupt) left it out.
    """

    statuses: tuple[tuple[C, str], ...]
    problems: tuple[str, ...] = ()
    after: A | None = None
    listing_error: ApiError | None = None
