"""How each change of an apply ended, whatever the API: applied, not applied, outcome unknown.

A change is *not applied* until sent, *outcome unknown* from the moment its request leaves until
the server confirms it (its answer, or a listing that shows it), and *applied* after. A refusal
(``refused``) changed nothing; any other failure may still commit at the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from reconciler.errors import ApiError, OutcomeUnknownError

APPLIED: Final = "applied"
NOT_APPLIED: Final = "not applied"
UNKNOWN: Final = "outcome unknown"

C = TypeVar("C")  # a provider's change type
A = TypeVar("A")  # a provider's final listing


def refused(error: BaseException) -> bool:
    """Whether a failed write certainly changed nothing: the server refused it (4xx, not 429).

    Anything else (5xx, a lost answer, a 429 after an earlier try) may have committed.
    """
    status = getattr(error, "status", None)
    return (
        isinstance(error, ApiError)
        and not isinstance(error, OutcomeUnknownError)
        and status is not None
        and 400 <= status < 500
        and status != 429
    )


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
