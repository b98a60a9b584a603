"""PolicyPlan: one org's policy rule and resolution changes, with octoDNS-style safety.

An ``engine.provider.OrgPlan``, as ``triage.plan.TriagePlan`` is: ``summary``,
``unsafe_reasons`` / ``raise_if_unsafe``, ``to_dict`` / ``from_dict``. Moves never count towards
the safety threshold: reordering the files moves rules but changes none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.api import ALERT_POLICIES
from reconciler.engine import planfields
from reconciler.engine.targets import TargetChoice
from reconciler.errors import PlanFileError
from reconciler.policies.changes import (
    KIND_RESOLUTION,
    PolicyObjectChange,
    ResolutionChange,
    RuleChange,
    resolution_change_from_dict,
    rule_change_from_dict,
)
from reconciler.rules.safety import (
    SafetyPolicy,
    raise_if_unsafe,
    unsafe_reasons,
)

TARGET: Final = ALERT_POLICIES
# The actions that change what an existing rule or resolution does: they count for safety.
COUNTED: Final = ("update", "delete", "replace")
ACTIONS: Final = ("create", "update", "replace", "move", "delete")


def is_own_duplicate(change: RuleChange | ResolutionChange) -> bool:
    """A delete of an extra copy of a rule or resolution this tool wrote (two applies at once,
    a late create), as ``triage.plan.is_own_duplicate``.

    The copy that is kept has the same name in the same policy (a resolution: the same
    selector), so removing the extra takes nothing away: it does not count against the safety
    threshold, and cleaning up never needs ``--force``.
    """
    existing = change.existing
    return (
        change.action == "delete"
        and change.reason == "duplicate"
        and existing is not None
        and existing.managed
    )


@dataclass(frozen=True)
class PolicyPlan:
    """Changes in apply order (see ``diff``); ``existing`` counts live rules and resolutions."""

    org: str
    rule_changes: tuple[RuleChange, ...]
    resolution_changes: tuple[ResolutionChange, ...]
    unchanged: int
    existing: int
    fingerprint: str
    prune: bool = True
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)
    notices: tuple[str, ...] = ()
    # Changes to the policy objects themselves (files that declare ``policies:``), applied
    # around the rule changes: see ``policies.apply``. Not yet in ``changes``.
    policy_changes: tuple[PolicyObjectChange, ...] = ()
    # The target used and why (``engine.targets``); None for a plan made without a status read.
    choice: TargetChoice | None = field(default=None, compare=False)

    @property
    def target(self) -> str:
        return TARGET

    @property
    def changes(self) -> tuple[RuleChange | ResolutionChange, ...]:
        return (*self.rule_changes, *self.resolution_changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        return bool(self.rule_changes or self.resolution_changes)

    def summary(self) -> dict[str, int]:
        counts = {action: self.count(action) for action in ACTIONS}
        counts["unchanged"] = self.unchanged
        return counts

    def unsafe_reasons(self) -> list[str]:
        """Why this plan is unsafe; empty when it is safe. Moves and the deletes of our own
        duplicates are not counted."""
        changed = sum(1 for c in self.changes if c.action in COUNTED and not is_own_duplicate(c))
        return unsafe_reasons(
            self.safety,
            self.org,
            existing=self.existing,
            deletes=self.count("delete"),
            changed=changed,
            what=("live rule and resolution", "live rules and resolutions"),
            verbs="updates, replaces or deletes",
        )

    def raise_if_unsafe(self) -> None:
        raise_if_unsafe(self.unsafe_reasons())

    def to_dict(self, *, fingerprint: bool = True) -> dict[str, Any]:
        """The saved form; the fingerprint is always in it (it costs no walk here)."""
        return {
            "org": self.org,
            "target": TARGET,
            "summary": self.summary(),
            "existing": self.existing,
            "prune": self.prune,
            "safety": self.safety.to_dict(),
            "unsafe": self.unsafe_reasons(),
            "fingerprint": self.fingerprint,
            "warnings": list(self.notices),  # the key triage org plans use, for renderers
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "org plan") -> PolicyPlan:
        """Read ``to_dict()`` output back, checking every field with the same readers as a
        triage org plan (``engine.planfields``: a NaN threshold is refused, not obeyed)."""
        data = planfields.mapping(data, where)
        if data.get("target") != TARGET:
            raise PlanFileError(f"{where}.target is {data.get('target')!r}, not {TARGET!r}")
        org = planfields.text(data, "org", where)
        raw = planfields.items(data, "changes", where)
        changes = [planfields.mapping(c, f"{where}.changes[{i}]") for i, c in enumerate(raw)]
        summary = planfields.mapping(data.get("summary"), f"{where}.summary")
        warnings = planfields.items(data, "warnings", where, default=[])
        if not all(isinstance(w, str) for w in warnings):
            raise PlanFileError(f"{where}.warnings must be a list of strings")
        plan = cls(
            org=org,
            rule_changes=tuple(
                rule_change_from_dict(c) for c in changes if c.get("kind") != KIND_RESOLUTION
            ),
            resolution_changes=tuple(
                resolution_change_from_dict(c) for c in changes if c.get("kind") == KIND_RESOLUTION
            ),
            unchanged=planfields.count(summary, "unchanged", f"{where}.summary"),
            existing=planfields.count(data, "existing", where),
            fingerprint=planfields.text(data, "fingerprint", where),
            prune=planfields.flag(data, "prune", where, default=True),
            safety=planfields.safety(data, where),
            notices=tuple(warnings),
        )
        for i, change in enumerate(plan.changes):
            if change.org != org:
                raise PlanFileError(f"{where}.changes[{i}] is for org {change.org!r}, not {org!r}")
        return plan
