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
from reconciler.engine.provider import Progress
from reconciler.engine.targets import TargetChoice
from reconciler.errors import ReconcilerError
from reconciler.rules.ruleset import OrgRules
from reconciler.triage.apply import ApplyResult, apply_org
from reconciler.triage.audit import AuditTrail
from reconciler.triage.changes import Change
from reconciler.triage.client import TriageClient
from reconciler.triage.listing import plan_org
from reconciler.triage.plan import TARGET, TriagePlan
from reconciler.triage.stale import stale_orgs, unchanged_live
from reconciler.triage.verify import Verdict, conclude, statuses
from reconciler.vocab.triage.selector import LiveRule

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

    def stale(self, plans: Sequence[TriagePlan]) -> list[str]:
        return stale_orgs(self.client, plans)

    def before_writing(self, plan: TriagePlan, concurrency: int) -> list[LiveRule]:
        return unchanged_live(self.client, plan)  # another writer: nothing is written

    def dry_run(self, plan: TriagePlan, concurrency: int) -> str:
        return f"Org {plan.org} is on legacy triage, which has no dry run: skipped."

    def audit_trail(
        self, log: AuditLog | None, provenance: Provenance, before: list[LiveRule]
    ) -> AuditTrail:
        return AuditTrail(log, before)  # the log's provenance stamps the lines

    def apply(
        self,
        plan: TriagePlan,
        before: list[LiveRule],
        trail: AuditTrail,
        *,
        concurrency: int,
        settle: float,
        progress: Progress | None,
    ) -> ApplyResult:
        return apply_org(
            self.client,
            plan,
            concurrency=concurrency,
            progress=progress,
            listener=trail,
        )

    def conclude(
        self, plan: TriagePlan, before: list[LiveRule], result: ApplyResult, settle: float
    ) -> Verdict:
        return conclude(self.client, plan, before, result, settle_seconds=settle)

    def statuses(self, plan: TriagePlan, result: ApplyResult) -> tuple[tuple[Change, str], ...]:
        return statuses(plan, result)

    def describe(self, change: Change) -> str:
        return f"{change.action} {change.selector.describe()}"
