"""The legacy Triage API as a ``engine.provider.Provider``: plan, check, apply, settle, verify.

Legacy triage has no dry run, names no new uuid in a create's answer (the audit trail waits for
a listing, ``triage.audit``) and has no gate to check before writing: right before the first
write it only refuses a plan whose org changed since (``triage.stale``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from reconciler.engine.audit import AuditLog
from reconciler.engine.provenance import Provenance
from reconciler.engine.provider import OrgPlan, Progress, Result
from reconciler.engine.targets import TargetChoice
from reconciler.errors import ReconcilerError
from reconciler.rules.ruleset import OrgRules
from reconciler.triage.apply import ApplyResult, apply_org
from reconciler.triage.audit import AuditTrail
from reconciler.triage.changes import Change
from reconciler.triage.client import TriageClient
from reconciler.triage.listing import plan_org
from reconciler.triage.plan import TARGET, TriagePlan
from reconciler.triage.selector import LiveRule
from reconciler.triage.stale import stale_orgs, unchanged_live
from reconciler.triage.verify import Verdict, conclude, statuses

ACTIONS: Final = ("create", "update", "delete")


class TriageProvider:
    """Legacy triage over ``client``; one for every org of a run on this target."""

    target: Final = TARGET
    actions: Final = ACTIONS
    own_advice: Final[tuple[type[ReconcilerError], ...]] = ()

    def __init__(self, client: TriageClient) -> None:
        self.client = client

    def plan(
        self, rules: OrgRules, provenance: Provenance, today: dt.date, choice: TargetChoice | None
    ) -> TriagePlan:
        return replace(plan_org(self.client, rules, provenance, today), choice=choice)

    def stale(self, plans: Sequence[OrgPlan]) -> list[str]:
        return stale_orgs(self.client, [_mine(p) for p in plans])

    def before_writing(self, plan: OrgPlan, concurrency: int) -> list[LiveRule]:
        return unchanged_live(self.client, _mine(plan))  # another writer: nothing is written

    def dry_run(self, plan: OrgPlan, concurrency: int) -> str:
        return f"Org {plan.org} is on legacy triage, which has no dry run: skipped."

    def audit_trail(
        self, log: AuditLog | None, provenance: Provenance, before: object
    ) -> AuditTrail:
        return AuditTrail(log, _listed(before))

    def apply(
        self,
        plan: OrgPlan,
        before: object,
        trail: object,
        *,
        concurrency: int,
        settle: float,
        progress: Progress | None,
    ) -> ApplyResult:
        assert isinstance(trail, AuditTrail)
        return apply_org(
            self.client,
            _mine(plan),
            concurrency=concurrency,
            progress=progress,
            settle=settle,
            listener=trail,
        )

    def conclude(self, plan: OrgPlan, before: object, result: Result, settle: float) -> Verdict:
        return conclude(
            self.client, _mine(plan), _listed(before), _result(result), settle_seconds=settle
        )

    def statuses(self, plan: OrgPlan, result: Result) -> tuple[tuple[Change, str], ...]:
        return statuses(_mine(plan), _result(result))

    def describe(self, change: object) -> str:
        assert isinstance(change, Change)
        return f"{change.action} {change.selector.describe()}"


def _mine(plan: OrgPlan) -> TriagePlan:
    assert isinstance(plan, TriagePlan), f"not a legacy triage plan: {plan!r}"
    return plan


def _listed(before: object) -> list[LiveRule]:
    assert isinstance(before, list)
    return before


def _result(result: Result) -> ApplyResult:
    assert isinstance(result, ApplyResult)
    return result
