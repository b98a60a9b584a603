"""When a plan is too big to apply without ``--force``: octoDNS thresholds, defaults once."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import UnsafePlanError

DEFAULT_MAX_CHANGE_PERCENT = 30.0
DEFAULT_MIN_EXISTING = 10


@dataclass(frozen=True)
class SafetyPolicy:
    """When a plan is too big to apply without ``--force`` (octoDNS's thresholds)."""

    max_change_percent: float = (
        DEFAULT_MAX_CHANGE_PERCENT  # updates + deletes above this % of live rules is unsafe
    )
    min_existing: int = DEFAULT_MIN_EXISTING  # ...once the org has at least this many live rules

    def to_dict(self) -> dict[str, float | int]:
        """The form plans save (``plan --out``) and renderers read."""
        return {"max_change_percent": self.max_change_percent, "min_existing": self.min_existing}


def unsafe_reasons(
    safety: SafetyPolicy,
    org: str,
    *,
    existing: int,
    deletes: int,
    changed: int,
    what: tuple[str, str] = ("live rule", "live rules"),
    verbs: str = "updates or deletes",
) -> list[str]:
    """Why a plan that ``verbs`` ``changed`` of the org's ``existing`` things is unsafe.

    ``what`` names one of them and many; empty when the plan is safe.

    >>> unsafe_reasons(SafetyPolicy(), "acme", existing=10, deletes=1, changed=4)
    ['it updates or deletes 4 of 10 live rules of org acme (40% > 30%)']
    """
    one, many = what
    reasons: list[str] = []
    if existing and deletes >= existing:
        reasons.append(f"it deletes every {one} of org {org} ({existing})")
    if existing >= safety.min_existing:
        percent = 100.0 * changed / existing
        if percent > safety.max_change_percent:
            reasons.append(
                f"it {verbs} {changed} of {existing} {many} of org {org} "
                f"({percent:.0f}% > {safety.max_change_percent:g}%)"
            )
    return reasons


def raise_if_unsafe(reasons: list[str]) -> None:
    """Refuse a plan with ``reasons`` (from ``unsafe_reasons``) unless the user said ``--force``."""
    if reasons:
        raise UnsafePlanError(
            f"refusing an unsafe plan: {'; '.join(reasons)}. Use --force to apply it anyway."
        )
