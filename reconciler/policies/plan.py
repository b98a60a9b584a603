"""PolicyPlan: one org's policy rule and resolution changes, with octoDNS-style safety.

An ``engine.provider.OrgPlan``, as ``triage.plan.TriagePlan`` is: ``summary``,
``unsafe_reasons`` / ``raise_if_unsafe``, ``to_dict`` / ``from_dict``. Moves never count towards
the safety threshold: reordering the files moves rules but changes none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.api import ALERT_POLICIES
from reconciler.engine.targets import TargetChoice
from reconciler.errors import PlanFileError
from reconciler.policies.changes import (
    ResolutionChange,
    RuleChange,
    resolution_change_from_dict,
    rule_change_from_dict,
)
from reconciler.rules.safety import (
    DEFAULT_MAX_CHANGE_PERCENT,
    DEFAULT_MIN_EXISTING,
    SafetyPolicy,
    raise_if_unsafe,
    unsafe_reasons,
)

TARGET: Final = ALERT_POLICIES
# The actions that change what an existing rule or resolution does: they count for safety.
COUNTED: Final = ("update", "delete", "replace")
ACTIONS: Final = ("create", "update", "replace", "move", "delete")


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
        """Why this plan is unsafe; empty when it is safe. Moves are not counted."""
        return unsafe_reasons(
            self.safety,
            self.org,
            existing=self.existing,
            deletes=self.count("delete"),
            changed=sum(self.count(action) for action in COUNTED),
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
    def from_dict(cls, data: dict[str, Any]) -> PolicyPlan:
        try:
            if data.get("target") != TARGET:
                raise ValueError(f"target is {data.get('target')!r}, not {TARGET!r}")
            safety = data.get("safety") or {}
            changes = data["changes"]
            return cls(
                org=str(data["org"]),
                rule_changes=tuple(
                    rule_change_from_dict(c) for c in changes if c.get("kind") != "resolution"
                ),
                resolution_changes=tuple(
                    resolution_change_from_dict(c) for c in changes if c.get("kind") == "resolution"
                ),
                unchanged=int(data["summary"]["unchanged"]),
                existing=int(data["existing"]),
                fingerprint=str(data["fingerprint"]),
                prune=bool(data.get("prune", True)),
                safety=SafetyPolicy(
                    float(safety.get("max_change_percent", DEFAULT_MAX_CHANGE_PERCENT)),
                    int(safety.get("min_existing", DEFAULT_MIN_EXISTING)),
                ),
                notices=tuple(str(n) for n in data.get("warnings") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PlanFileError(f"malformed policies plan in plan file: {exc!r}") from None
