"""The flow, once for every API: plan each org on its target, then apply, settle, verify, report.

``make_plan`` picks each org's target and asks that target's provider for the plan.
``apply_plan`` applies every org in turn: right before the first write the provider checks
the plan is not stale (and any other precondition); the changes go out with an audit line per
confirmed change; lost answers get ``settle`` seconds to commit; a final listing settles every
outcome and checks the org. A failure part-way is reported the same way on every target: one
line per change (applied, not applied, outcome unknown), a tally, and advice on whether
running apply again helps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, Protocol

from reconciler.engine.audit import AuditLog
from reconciler.engine.outcomes import APPLIED, UNKNOWN, Conclusion
from reconciler.engine.plan import Plan
from reconciler.engine.progress import count_progress, phase
from reconciler.engine.provenance import Provenance
from reconciler.engine.provider import OrgPlan, Progress, Provider, Result, Trail
from reconciler.engine.targets import TargetChoice
from reconciler.errors import (
    ApplyError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ReconcilerError,
    ServerError,
    StalePlanError,
    VerificationError,
)
from reconciler.http import waits
from reconciler.rules.ruleset import OrgRules

PROGRESS_MIN_CHANGES: Final = 100
# Failures a later run can get past: the server was busy or a rule moved meanwhile. A 400, 401,
# 403 or a read-only org fails the same way every time until someone fixes the cause.
RERUN_HELPS: Final = (ServerError, RateLimitError, OutcomeUnknownError, NotFoundError)
# Every action of every target, in the order the final line names them.
PAST: Final = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "move": "moved",
    "delete": "deleted",
}
Say = Callable[[str], None]  # one line for the person watching (stderr, made safe)


class Providers(Protocol):
    """The providers of a run, over one connection (``reconciler.wiring.Wiring``)."""

    @property
    def total_calls(self) -> int: ...

    def choose(self, rules: OrgRules, override: str | None) -> TargetChoice:
        """The org's target: ``override`` (``--target``), the files' pin, or its status."""
        ...

    def provider(self, target: str) -> Provider: ...


def make_plan(
    providers: Providers,
    orgs: Sequence[OrgRules],
    provenance: Provenance,
    today: dt.date,
    *,
    target: str | None = None,
) -> Plan:
    """Each org's plan on its target (``target`` is ``--target``), in the files' org order."""
    plans = []
    for rules in orgs:
        choice = providers.choose(rules, target)
        plans.append(providers.provider(choice.target).plan(rules, provenance, today, choice))
    return Plan(tuple(plans))


def check_saved_plan(providers: Providers, plan: Plan, path: str) -> None:
    """Refuse the saved ``plan`` (from ``path``) if any org's live state changed since."""
    stale: list[str] = []
    for target in dict.fromkeys(o.target for o in plan.orgs):
        stale += providers.provider(target).stale([o for o in plan.orgs if o.target == target])
    if stale:
        raise StalePlanError(
            f"the live rules of org {', '.join(stale)} changed since {path} was made; "
            "nothing was written. Run plan again."
        )


def dry_run(providers: Providers, plan: Plan, concurrency: int) -> Iterator[str]:
    """``apply --dry-run``: each org's rehearsal (where its API has one), one line each."""
    for org_plan in plan.orgs:
        if org_plan.has_changes:
            yield providers.provider(org_plan.target).dry_run(org_plan, concurrency)


def apply_plan(
    providers: Providers,
    plan: Plan,
    log: AuditLog | None,
    *,
    provenance: Provenance,
    concurrency: int,
    settle: float,
    say: Say,
) -> str:
    """Apply every org with changes; the ``Apply complete: ...`` line. Raises on a failure."""
    started = time.monotonic()  # the time spent applying, not reading or confirming
    totals = dict.fromkeys(PAST, 0)
    for org_plan in plan.orgs:
        if org_plan.has_changes:
            provider = providers.provider(org_plan.target)
            conclusion = apply_org(
                provider, org_plan, log, provenance, concurrency, settle=settle, say=say
            )
            for change, status in conclusion.statuses:
                totals[change.action] += status == APPLIED
    reordered = "".join(  # only Alert Policies move and replace
        f"{totals[action]} {PAST[action]}, " for action in ("move", "replace") if totals[action]
    )
    return (
        f"Apply complete: {totals['create']} created, {totals['update']} updated, {reordered}"
        f"{totals['delete']} deleted in {time.monotonic() - started:.1f} s, "
        f"{providers.total_calls} API calls."
    )


def apply_org(
    provider: Provider,
    plan: OrgPlan,
    log: AuditLog | None,
    provenance: Provenance,
    concurrency: int,
    *,
    settle: float,
    say: Say,
) -> Conclusion[Any, Any]:
    """Apply one org's plan, settle and check it; report and raise on any failure."""
    before = provider.before_writing(plan, concurrency)  # nothing is written if this refuses
    trail = provider.audit_trail(log, provenance, before)
    try:
        with apply_progress(plan) as progress:
            result = provider.apply(
                plan, before, trail, concurrency=concurrency, settle=settle, progress=progress
            )
        conclusion = finish(provider, plan, before, result, settle, say)
    finally:
        failure = finished(trail)
    if failure is not None and result.error is None:
        result.error = failure  # the audit log could not be written: say so with the report
    return reported(provider, plan, result, conclusion, say)


def finished(trail: Trail) -> ReconcilerError | None:
    """Write what the trail still holds; the error if the audit log could not take it."""
    try:
        trail.finish()
    except ReconcilerError as exc:
        return exc
    return None


@contextlib.contextmanager
def apply_progress(plan: OrgPlan) -> Iterator[Progress | None]:
    """The ``Applying ORG`` phase on a terminal, counting changes for a large apply; else
    nothing (``engine.progress``)."""
    if len(plan.changes) < PROGRESS_MIN_CHANGES:
        with phase(f"Applying {plan.org}"):
            yield None
        return
    with count_progress(f"Applying {plan.org}", len(plan.changes)) as update:
        yield update


def finish(
    provider: Provider, plan: OrgPlan, before: object, result: Result, settle: float, say: Say
) -> Conclusion[Any, Any]:
    """Settle the outcomes with a final listing; a second Ctrl-C skips it.

    After an interrupt the listing may wait (for lost answers, a Retry-After) only when it has
    outcomes to settle; else any wait it meets ends it at once, and the report comes now.
    """
    if result.interrupted and result.unknown:
        say(
            f"Interrupted: checking {len(result.unknown)} changes whose outcome is unknown "
            "(Ctrl-C again to stop at once)..."
        )
    if not result.interrupted or result.unknown:
        waits.resume()  # the interrupted requests have stopped: the listing may wait again
    try:
        with phase(f"Checking {plan.org}"):  # the final listing, labelled
            return provider.conclude(plan, before, result, settle)
    except KeyboardInterrupt:
        result.interrupted = True
    except ReconcilerError as exc:  # the audit log failed as a change was settled
        result.error = result.error or exc
    finally:
        waits.resume()
    return Conclusion(provider.statuses(plan, result))


def reported(
    provider: Provider,
    plan: OrgPlan,
    result: Result,
    conclusion: Conclusion[Any, Any],
    say: Say,
) -> Conclusion[Any, Any]:
    """``conclusion``, once said: one line per change on any failure, then raise for it."""
    error, org = result.error, plan.org
    unknown = sum(1 for _, status in conclusion.statuses if status == UNKNOWN)
    failed = error is not None or conclusion.listing_error or conclusion.problems
    if result.interrupted or failed or unknown:
        for change, status in conclusion.statuses:
            say(f"  {status}: {provider.describe(change)}")
    done = tally(org, conclusion.statuses, provider.actions)
    if result.interrupted:
        say(f"{done}.{advice(None)}")
        raise KeyboardInterrupt
    if error is not None:
        raise ApplyError(
            f"apply of org {org} stopped: {error}. {done}.{advice(error, provider.own_advice)}"
        )
    if conclusion.listing_error is not None:
        raise ApplyError(
            f"apply of org {org} sent every change, but the listing to check them failed: "
            f"{conclusion.listing_error}. {done}."
            f"{advice(conclusion.listing_error, provider.own_advice)}"
        )
    if conclusion.problems:
        for line in conclusion.problems:
            say(f"  remains: {line}")
    if unknown:  # never exit 0 while a request may still commit
        raise ApplyError(
            f"apply of org {org} sent every change, but {unknown} of them lost their answer and "
            "the org does not show them yet: a request may still commit at the server, so "
            f"they were not sent again. {done}. Running apply again converges "
            "(it sees what committed meanwhile)."
        )
    if conclusion.problems:
        raise VerificationError(
            f"org {org} still differs from the plan in {len(conclusion.problems)} ways after "
            "apply; run plan to see what is left"
        )
    return conclusion


def tally(org: str, statuses: Sequence[tuple[Any, str]], actions: Sequence[str]) -> str:
    """``Applied N of M changes to org X (N created, ...)``, from the settled statuses;
    ``actions`` are the target's (``Provider.actions``), in the order said."""
    applied = [c for c, status in statuses if status == APPLIED]
    unknown = sum(1 for _, status in statuses if status == UNKNOWN)
    counts = ", ".join(
        f"{sum(1 for c in applied if c.action == action)} {PAST[action]}" for action in actions
    )
    text = (
        f"Applied {len(applied)} of {len(statuses)} changes to org {org} ({counts}); "
        f"{len(statuses) - len(applied) - unknown} not applied"
    )
    return text + (f"; {unknown} with an unknown outcome" if unknown else "")


def advice(error: ReconcilerError | None, own: tuple[type[ReconcilerError], ...] = ()) -> str:
    """Promise convergence only when a rerun can get past ``error`` (None: an interrupt).

    ``own`` are the errors whose message says what to do (``Provider.own_advice``).
    """
    if isinstance(error, own):
        return ""  # its message says what to do instead
    if error is None or isinstance(error, RERUN_HELPS):
        return " Running apply again converges."
    return " Running apply again will fail the same way until the cause is fixed."
