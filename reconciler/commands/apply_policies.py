"""``apply`` for an org on Alert Policies: check, rehearse, apply, settle, verify, report.

For each org, in this order, and nothing real is written until every check has passed:

1. list the org and refuse if it changed since the plan was made (the fingerprint covers order);
2. read the migration status: before the move real policy writes are refused (409), so apply
   says so and what to do instead, and writes nothing;
3. rehearse every write (``dry_run=true``); any refusal is reported at its FILE:LINE:COL and
   nothing is written. ``apply --dry-run`` stops here, and works before the move too;
4. apply (``policies.apply``), each confirmed change appended to the audit log at once;
5. settle outcomes and verify from one final listing: content and exact order; ``remains:``
   lines and exit 1 when the org still differs.

A failure part-way is reported as the triage apply reports it: one line per change (applied,
not applied, outcome unknown) and a tally, with advice on whether running apply again helps.
"""

from __future__ import annotations

import click

from reconciler.engine.audit import AuditLog
from reconciler.engine.provenance import Provenance
from reconciler.engine.targets import policies_client
from reconciler.engine.verify import APPLIED, UNKNOWN
from reconciler.errors import (
    ApplyError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ReadOnlyError,
    ReconcilerError,
    ServerError,
    VerificationError,
)
from reconciler.policies.apply import apply_org
from reconciler.policies.audit import PolicyAuditTrail
from reconciler.policies.changes import RuleChange
from reconciler.policies.client import PoliciesClient
from reconciler.policies.outcomes import PolicyResult
from reconciler.policies.plan import ACTIONS, PolicyPlan
from reconciler.policies.rehearse import rehearse
from reconciler.policies.requests import PolicyChange
from reconciler.policies.snapshot import Snapshot, unchanged_snapshot
from reconciler.policies.statuses import gate_message
from reconciler.policies.verify import Conclusion, conclude
from reconciler.redact import redact
from reconciler.render.escape import terminal_safe
from reconciler.triage.client import TriageClient

# Failures a later run can get past (as for triage): the server was busy, or a rule moved.
RERUN_HELPS = (ServerError, RateLimitError, OutcomeUnknownError, NotFoundError)
_PAST: dict[str, str] = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "move": "moved",
    "delete": "deleted",
}


def _say(line: str) -> None:
    click.echo(terminal_safe(redact(line)), err=True)


def describe(change: PolicyChange) -> str:
    """``move rule 'a' of policy default (3 -> 1)``, ``replace resolution ...``."""
    if isinstance(change, RuleChange):
        text = f"{change.action} rule {change.name!r} of policy {change.policy_id}"
        if change.action == "move":
            text += f" ({change.from_position} -> {change.to_position})"
        return text
    return f"{change.action} resolution {change.selector.describe()}"


def tally(org: str, conclusion: Conclusion) -> str:
    """``Applied N of M changes to org X (...)``, from the settled statuses."""
    applied = [c for c, status in conclusion.statuses if status == APPLIED]
    unknown = sum(1 for _, status in conclusion.statuses if status == UNKNOWN)
    total = len(conclusion.statuses)
    counts = ", ".join(
        f"{sum(1 for c in applied if c.action == action)} {_PAST[action]}" for action in ACTIONS
    )
    text = (
        f"Applied {len(applied)} of {total} changes to org {org} ({counts}); "
        f"{total - len(applied) - unknown} not applied"
    )
    return text + (f"; {unknown} with an unknown outcome" if unknown else "")


def advice(error: ReconcilerError | None) -> str:
    """Promise convergence only when a rerun can get past ``error`` (None: an interrupt)."""
    if isinstance(error, ReadOnlyError):
        return ""  # the gate's message says what to do instead
    if error is None or isinstance(error, RERUN_HELPS):
        return " Running apply again converges."
    return " Running apply again will fail the same way until the cause is fixed."


def check_writable(client: PoliciesClient, plan: PolicyPlan) -> None:
    """One status read right before writing: before the move, real writes are refused."""
    status = client.migration_status(plan.org)
    if not status.policies_writable:
        raise ReadOnlyError(f"{gate_message(plan.org, status.state)}; nothing was written", 409)


def rehearsed(client: PoliciesClient, plan: PolicyPlan, concurrency: int) -> int:
    """Rehearse every write; on any refusal, report each at its FILE:LINE and raise."""
    rehearsal = rehearse(client, plan, concurrency=concurrency)
    if rehearsal.refused:
        for diagnostic in rehearsal.diagnostics():
            _say(str(diagnostic))
        raise ApplyError(
            f"the server refused {len(rehearsal.refused)} of the {rehearsal.sent} writes "
            f"rehearsed for org {plan.org} (dry run); nothing was written"
        )
    return rehearsal.sent


def dry_run_org(client: TriageClient, plan: PolicyPlan, concurrency: int) -> None:
    """``apply --dry-run`` for one policies org: check and rehearse, write nothing."""
    api = policies_client(client)
    unchanged_snapshot(api, plan)
    sent = rehearsed(api, plan, concurrency)
    skipped = sum(1 for c in plan.resolution_changes if c.action == "delete")
    note = f"; {skipped} resolution deletes have no dry run" if skipped else ""
    click.echo(
        f"Dry run of org {plan.org}: the server accepts all {sent} writes rehearsed{note}. "
        "Nothing was written."
    )


def apply_policies_org(
    client: TriageClient,
    plan: PolicyPlan,
    log: AuditLog | None,
    provenance: Provenance,
    concurrency: int,
    settle: float,
) -> Conclusion:
    """Apply one policies org's plan, settle and check it; report and raise on any failure."""
    api = policies_client(client)
    before = unchanged_snapshot(api, plan)
    check_writable(api, plan)
    rehearsed(api, plan, concurrency)
    trail = PolicyAuditTrail(log, provenance)
    result = apply_org(
        api, plan, before=before, concurrency=concurrency, settle=settle, listener=trail
    )
    conclusion = _settle(api, plan, before, result, settle)
    return _report(plan, result.error, result.interrupted, conclusion)


def _settle(
    api: PoliciesClient, plan: PolicyPlan, before: Snapshot, result: PolicyResult, settle: float
) -> Conclusion:
    """Settle the outcomes with a final listing; a second Ctrl-C skips it."""
    if result.interrupted and result.unknown:
        _say(
            f"Interrupted: checking {len(result.unknown)} changes whose outcome is unknown "
            "(Ctrl-C again to stop at once)..."
        )
    try:
        return conclude(api, plan, before, result, settle_seconds=settle)
    except KeyboardInterrupt:
        result.interrupted = True
        return Conclusion(result.statuses(plan))


def _report(
    plan: PolicyPlan, error: ReconcilerError | None, interrupted: bool, conclusion: Conclusion
) -> Conclusion:
    failed = interrupted or error is not None or conclusion.listing_error is not None
    if failed or conclusion.problems:
        for change, status in conclusion.statuses:
            _say(f"  {status}: {describe(change)}")
    org = plan.org
    if interrupted:
        _say(f"{tally(org, conclusion)}.{advice(None)}")
        raise KeyboardInterrupt
    if error is not None:
        raise ApplyError(
            f"apply of org {org} stopped: {error}. {tally(org, conclusion)}.{advice(error)}"
        )
    if conclusion.listing_error is not None:
        raise ApplyError(
            f"apply of org {org} sent every change, but the listing to check them failed: "
            f"{conclusion.listing_error}. {tally(org, conclusion)}."
            f"{advice(conclusion.listing_error)}"
        )
    if conclusion.problems:
        for line in conclusion.problems:
            _say(f"  remains: {line}")
        raise VerificationError(
            f"org {org} still differs from the plan in {len(conclusion.problems)} ways after "
            "apply; run plan to see what is left"
        )
    return conclusion
