"""Alert Policies as an ``engine.provider.Provider``: plan, check, rehearse, apply, verify.

Before the first real write of an org, in this order, and nothing is written until each passed:

1. list the org and refuse if it changed since the plan was made (the fingerprint covers order);
2. read the migration status: before the move real policy writes are refused (409), so apply
   says so and what to do instead, and writes nothing;
3. rehearse every write (``dry_run=true``); any refusal is reported at its FILE:LINE:COL and
   nothing is written. Resolution deletes have no dry run: the token's right to delete them is
   checked with the delete of a resolution that cannot exist (``rehearse.check_resolution_
   deletes``). ``apply --dry-run`` stops here, and works before the move too.

Then ``policies.apply`` sends the plan, policy objects first and policy deletes last (each
confirmed change audited at once,
``policies.audit``), and ``policies.verify`` settles outcomes and checks content and exact order
from one final listing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from reconciler.engine.audit import AuditLog
from reconciler.engine.provenance import Provenance
from reconciler.engine.provider import Progress
from reconciler.engine.targets import TargetChoice
from reconciler.errors import ApplyError, ReadOnlyError, ReconcilerError
from reconciler.policies.apply import apply_org
from reconciler.policies.audit import PolicyAuditTrail
from reconciler.policies.changes import CREATE_HALF, DELETE_HALF, PolicyObjectChange, RuleChange
from reconciler.policies.client import PoliciesClient
from reconciler.policies.orgs import plan_policies_org
from reconciler.policies.outcomes import PolicyResult
from reconciler.policies.plan import ACTIONS, TARGET, PolicyPlan
from reconciler.policies.rehearse import check_resolution_deletes, rehearse
from reconciler.policies.requests import RELEASE, PolicyChange
from reconciler.policies.snapshot import Snapshot, unchanged_snapshot
from reconciler.policies.statuses import gate_message
from reconciler.policies.verify import Verdict, conclude
from reconciler.rules.ruleset import OrgRules


class PoliciesProvider:
    """Alert Policies over ``client``; ``say`` shows a line (a rehearsal's refusals) on stderr."""

    target: Final = TARGET
    actions: Final = ACTIONS
    # The gate's message says what to do instead of running apply again.
    own_advice: Final[tuple[type[ReconcilerError], ...]] = (ReadOnlyError,)

    def __init__(self, client: PoliciesClient, say: Callable[[str], None]) -> None:
        self.client = client
        self.say = say

    def plan(
        self, rules: OrgRules, provenance: Provenance, today: dt.date, choice: TargetChoice | None
    ) -> PolicyPlan:
        plan = plan_policies_org(self.client, rules, provenance, today)[0]
        return replace(plan, choice=choice)

    def stale(self, plans: Sequence[PolicyPlan]) -> list[str]:
        return []  # each org is checked right before its first write (``before_writing``)

    def before_writing(self, plan: PolicyPlan, concurrency: int) -> Snapshot:
        before = unchanged_snapshot(self.client, plan)
        self.check_writable(plan)
        self.rehearsed(plan, concurrency)
        check_resolution_deletes(self.client, plan)
        return before

    def check_writable(self, plan: PolicyPlan) -> None:
        """One status read right before writing: before the move, real writes are refused."""
        status = self.client.migration_status(plan.org)
        if not status.policies_writable:
            message = f"{gate_message(plan.org, status.state)}; nothing was written"
            raise ReadOnlyError(message, 409)

    def rehearsed(self, plan: PolicyPlan, concurrency: int) -> int:
        """Rehearse every write; on any refusal, report each at its FILE:LINE and raise."""
        rehearsal = rehearse(self.client, plan, concurrency=concurrency)
        if rehearsal.refused:
            for diagnostic in rehearsal.diagnostics():
                self.say(diagnostic.line())
            raise ApplyError(
                f"the server refused {len(rehearsal.refused)} of the {rehearsal.sent} writes "
                f"rehearsed for org {plan.org} (dry run); nothing was written"
            )
        return rehearsal.sent

    def dry_run(self, plan: PolicyPlan, concurrency: int) -> str:
        unchanged_snapshot(self.client, plan)
        sent = self.rehearsed(plan, concurrency)
        check_resolution_deletes(self.client, plan)
        skipped = sum(1 for c in plan.resolution_changes if c.action == "delete")
        note = f"; {skipped} resolution deletes have no dry run" if skipped else ""
        return (
            f"Dry run of org {plan.org}: the server accepts all {sent} writes rehearsed{note}. "
            "Nothing was written."
        )

    def audit_trail(
        self, log: AuditLog | None, provenance: Provenance, before: Snapshot
    ) -> PolicyAuditTrail:
        return PolicyAuditTrail(log, provenance)

    def apply(
        self,
        plan: PolicyPlan,
        before: Snapshot,
        trail: PolicyAuditTrail,
        *,
        concurrency: int,
        settle: float,
        progress: Progress | None,
    ) -> PolicyResult:
        return apply_org(
            self.client,
            plan,
            before=before,
            concurrency=concurrency,
            settle=settle,
            listener=trail,
            progress=progress,
        )

    def conclude(
        self, plan: PolicyPlan, before: Snapshot, result: PolicyResult, settle: float
    ) -> Verdict:
        return conclude(self.client, plan, before, result, settle_seconds=settle)

    def statuses(
        self, plan: PolicyPlan, result: PolicyResult
    ) -> tuple[tuple[PolicyChange, str], ...]:
        return result.statuses(plan)

    def describe(self, change: PolicyChange) -> str:
        """``move rule 'a' of policy default (3 -> 1)``, ``replace resolution ...``,
        ``delete policy 'legacy'``."""
        if isinstance(change, PolicyObjectChange):
            text = f"{change.action} policy {change.name!r}"
            return f"{text} ({RELEASE})" if change.reason == RELEASE else text
        if isinstance(change, RuleChange):
            text = f"{change.action} rule {change.name!r} of policy {change.policy_id}"
            if change.action == "move":
                text += f" ({change.from_position} -> {change.to_position})"
            return text
        text = f"{change.action} resolution {change.selector.describe()}"
        return f"{text} ({change.reason})" if change.reason in (CREATE_HALF, DELETE_HALF) else text
