"""PolicyPlan: one org's policy object, policy rule and resolution changes, with octoDNS-style
safety.

An ``engine.provider.OrgPlan``, as ``triage.plan.TriagePlan`` is: ``summary``,
``unsafe_reasons`` / ``raise_if_unsafe``, ``to_dict`` / ``from_dict``. Moves never count towards
the safety threshold: reordering the files moves rules but changes none of them. Neither do
creates. A policy update counts as one change; a policy delete as one delete and one more for
each rule that goes with it (``takes_rules``): deleting a policy deletes its rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.api import ALERT_POLICIES
from reconciler.engine import planfields
from reconciler.engine.targets import TargetChoice
from reconciler.errors import PlanFileError
from reconciler.policies.changes import (
    KIND_POLICY,
    KIND_RESOLUTION,
    PolicyObjectChange,
    ResolutionChange,
    RuleChange,
    policy_change_from_dict,
    resolution_change_from_dict,
    rule_change_from_dict,
)
from reconciler.policies.objects import repository_moves
from reconciler.rules.safety import (
    SafetyPolicy,
    raise_if_unsafe,
    unsafe_reasons,
)

TARGET: Final = ALERT_POLICIES
# The actions that change what an existing rule or resolution does: they count for safety.
COUNTED: Final = ("update", "delete", "replace")
ACTIONS: Final = ("create", "update", "replace", "move", "delete")


AnyChange = PolicyObjectChange | RuleChange | ResolutionChange


def is_own_duplicate(change: AnyChange) -> bool:
    """A delete of an extra copy of a rule or resolution this tool wrote (two applies at once,
    a late create), as ``triage.plan.is_own_duplicate``.

    The copy that is kept has the same name in the same policy (a resolution: the same
    selector), so removing the extra takes nothing away: it does not count against the safety
    threshold, and cleaning up never needs ``--force``.
    """
    if isinstance(change, PolicyObjectChange):
        return False
    existing = change.existing
    return (
        change.action == "delete"
        and change.reason == "duplicate"
        and existing is not None
        and existing.managed
    )


@dataclass(frozen=True)
class PolicyPlan:
    """Changes in apply order (see ``diff``); ``existing`` counts the live rules and resolutions
    in scope, and the live named policies in scope."""

    org: str
    rule_changes: tuple[RuleChange, ...]
    resolution_changes: tuple[ResolutionChange, ...]
    unchanged: int
    existing: int
    fingerprint: str
    prune: bool = True
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)
    notices: tuple[str, ...] = ()
    # Changes to the policy objects themselves (files that declare ``policies:``), first in
    # ``changes``, in the order they are sent (``objects.apply_order``; ``policies.apply``).
    policy_changes: tuple[PolicyObjectChange, ...] = ()
    # The files declare the org's policies: the plan was made against the repository listing
    # too, which the fingerprint then covers (``snapshot.read_snapshot``).
    declares_policies: bool = False
    # The calls one read of the live state took (``diff.snapshot_reads``): apply reads it again
    # before writing and to verify, so the call estimate (``budget.cost``) counts it twice.
    # 0 in a plan saved before this was recorded: the estimate then guesses from ``existing``.
    reads: int = 0
    # The target used and why (``engine.targets``); None for a plan made without a status read.
    choice: TargetChoice | None = field(default=None, compare=False)

    @property
    def target(self) -> str:
        return TARGET

    @property
    def changes(self) -> tuple[AnyChange, ...]:
        return (*self.policy_changes, *self.rule_changes, *self.resolution_changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        return bool(self.policy_changes or self.rule_changes or self.resolution_changes)

    def summary(self) -> dict[str, int]:
        counts = {action: self.count(action) for action in ACTIONS}
        counts["unchanged"] = self.unchanged
        return counts

    def unsafe_reasons(self) -> list[str]:
        """Why this plan is unsafe; empty when it is safe. Moves and the deletes of our own
        duplicates are not counted."""
        taken = sum(c.takes_rules for c in self.policy_changes if c.action == "delete")
        changed = sum(1 for c in self.changes if c.action in COUNTED and not is_own_duplicate(c))
        what = ("live rule and resolution", "live rules and resolutions")
        if self.declares_policies:
            what = ("live policy, rule and resolution", "live policies, rules and resolutions")
        return unsafe_reasons(
            self.safety,
            self.org,
            existing=self.existing,
            deletes=self.count("delete") + taken,
            changed=changed + taken,
            what=what,
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
            "reads": self.reads,
            **self._policy_keys(),
        }

    def _policy_keys(self) -> dict[str, Any]:
        """For an org that declares policies: that it does (a saved plan is checked against
        the repository listing too), and each repository whose governing policy changes."""
        if not self.declares_policies:
            return {}
        return {
            "declares_policies": True,
            "repository_moves": repository_moves(self.policy_changes),
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
            policy_changes=tuple(
                policy_change_from_dict(c) for c in changes if c.get("kind") == KIND_POLICY
            ),
            rule_changes=tuple(
                rule_change_from_dict(c)
                for c in changes
                if c.get("kind") not in (KIND_RESOLUTION, KIND_POLICY)
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
            declares_policies=planfields.flag(data, "declares_policies", where, default=False),
            reads=planfields.count(data, "reads", where, default=0),
        )
        for i, change in enumerate(plan.changes):
            if change.org != org:
                raise PlanFileError(f"{where}.changes[{i}] is for org {change.org!r}, not {org!r}")
        return plan
