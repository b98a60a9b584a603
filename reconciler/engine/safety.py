"""When a plan is too big to apply without ``--force``: octoDNS thresholds, defaults once."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_CHANGE_PERCENT = 30.0
DEFAULT_MIN_EXISTING = 10


@dataclass(frozen=True)
class SafetyPolicy:
    """When a plan is too big to apply without ``--force`` (octoDNS's thresholds)."""

    max_change_percent: float = (
        DEFAULT_MAX_CHANGE_PERCENT  # updates + deletes above this % of live rules is unsafe
    )
    min_existing: int = DEFAULT_MIN_EXISTING  # ...once the org has at least this many live rules
