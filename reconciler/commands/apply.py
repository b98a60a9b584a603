"""``socket-triage apply``: make each org match the files (or a saved plan), then verify.

Every output path is checked before the first API call, and the audit log is opened before the
first write. Ctrl-C and SIGTERM stop the apply cleanly: no new request is started, those in
flight finish, the outcomes are settled by one listing (a second Ctrl-C skips it), the report
says what was applied, and the exit code is 130.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType

import click

from reconciler.api import ALERT_POLICIES, DEFAULT_CONCURRENCY
from reconciler.commands import check_output_file, print_warnings, use_colour
from reconciler.commands.options import (
    Api,
    api_options,
    click_command,
    option,
    org_option,
    paths_argument,
)
from reconciler.engine.apply import ApplyResult, apply_org
from reconciler.engine.audit import AuditLog, AuditTrail
from reconciler.engine.orgs import make_plan, open_client, select_orgs
from reconciler.engine.plan import OrgPlan, Plan
from reconciler.engine.planfile import check_saved_plan, load_plan_file, unchanged_live
from reconciler.engine.provenance import Provenance, detect
from reconciler.engine.verify import APPLIED, UNKNOWN, Conclusion, conclude, statuses
from reconciler.errors import (
    ApplyError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ReconcilerError,
    ServerError,
    UsageError,
    VerificationError,
)
from reconciler.exits import EXIT_INTERRUPTED, EXIT_OK
from reconciler.http.retry import RetryPolicy
from reconciler.render import render_text
from reconciler.render.escape import terminal_safe
from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.rules.ruleset import OrgRules
from reconciler.triage.client import TriageClient
from reconciler.triage.selector import LiveRule

PROGRESS_MIN_CHANGES = 100
# What apply works from: a saved plan, or the rules of the orgs to plan now.
Source = Plan | list[OrgRules]
# Failures a later run can get past: the server was busy or a rule moved meanwhile. A 400, 401,
# 403 or a read-only org fails the same way every time until someone fixes the cause.
RERUN_HELPS = (ServerError, RateLimitError, OutcomeUnknownError, NotFoundError)


def confirm(yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to apply without --yes when not on a terminal")
    click.confirm("Apply these changes?", abort=True, err=True)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM (a cancelled CI job) as Ctrl-C while applying: stop cleanly, report."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def apply_progress(org_plan: OrgPlan) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for a large apply watched on a terminal; else nothing."""
    if not sys.stderr.isatty() or len(org_plan.changes) < PROGRESS_MIN_CHANGES:
        yield None
        return
    with click.progressbar(
        length=len(org_plan.changes), label=f"Applying {org_plan.org}", file=sys.stderr
    ) as bar:
        yield bar.update


def report(conclusion: Conclusion) -> None:
    """One line per change of the org: applied, not applied, or outcome unknown."""
    for change, status in conclusion.statuses:
        line = f"  {status}: {change.action} {change.selector.describe()}"
        click.echo(terminal_safe(line), err=True)


def tally(org: str, conclusion: Conclusion) -> str:
    """``Applied N of M changes (...)``, from the settled statuses."""
    applied = [c for c, status in conclusion.statuses if status == APPLIED]
    unknown = sum(1 for _, status in conclusion.statuses if status == UNKNOWN)
    total = len(conclusion.statuses)
    created, updated, deleted = (
        sum(1 for c in applied if c.action == action) for action in ("create", "update", "delete")
    )
    text = (
        f"Applied {len(applied)} of {total} changes to org {org} ({created} created, "
        f"{updated} updated, {deleted} deleted); {total - len(applied) - unknown} not applied"
    )
    return text + (f"; {unknown} with an unknown outcome" if unknown else "")


def advice(error: ReconcilerError | None) -> str:
    """Promise convergence only when a rerun can get past ``error`` (None: an interrupt)."""
    if error is None or isinstance(error, RERUN_HELPS):
        return " Running apply again converges."
    return " Running apply again will fail the same way until the cause is fixed."


def finish(
    client: TriageClient,
    org_plan: OrgPlan,
    before: Sequence[LiveRule],
    result: ApplyResult,
    settle: float,
) -> Conclusion:
    """Settle the outcomes with a final listing; a second Ctrl-C skips it."""
    if result.interrupted and result.unknown:
        click.echo(
            f"Interrupted: checking {len(result.unknown)} changes whose outcome is unknown "
            "(Ctrl-C again to stop at once)...",
            err=True,
        )
    try:
        return conclude(client, org_plan, before, result, settle_seconds=settle)
    except KeyboardInterrupt:
        result.interrupted = True
        return Conclusion(statuses(org_plan, result))


def apply_one(
    client: TriageClient,
    org_plan: OrgPlan,
    log: AuditLog | None,
    concurrency: int,
    settle: float,
) -> Conclusion:
    """Apply one org's plan, settle and check it; report and raise on any failure."""
    before = unchanged_live(client, org_plan)  # another writer at work: nothing is written
    trail = AuditTrail(log, before)
    try:
        with apply_progress(org_plan) as progress:
            result = apply_org(
                client,
                org_plan,
                concurrency=concurrency,
                progress=progress,
                settle=settle,
                listener=trail,
            )
        conclusion = finish(client, org_plan, before, result, settle)
    finally:
        trail.finish()
    failed = result.interrupted or result.error or conclusion.listing_error
    if failed or conclusion.problems:
        report(conclusion)
    if result.interrupted:
        click.echo(f"{tally(org_plan.org, conclusion)}.{advice(None)}", err=True)
        raise KeyboardInterrupt
    if result.error is not None:
        raise ApplyError(
            f"apply of org {org_plan.org} stopped: {result.error}. "
            f"{tally(org_plan.org, conclusion)}.{advice(result.error)}"
        )
    if conclusion.listing_error is not None:
        raise ApplyError(
            f"apply of org {org_plan.org} sent every change, but the listing to check them "
            f"failed: {conclusion.listing_error}. {tally(org_plan.org, conclusion)}."
            f"{advice(conclusion.listing_error)}"
        )
    if conclusion.problems:
        for line in conclusion.problems:
            click.echo(terminal_safe(f"  remains: {line}"), err=True)
        raise VerificationError(
            f"org {org_plan.org} still differs from the plan in {len(conclusion.problems)} "
            "ways after apply; run plan to see what is left"
        )
    return conclusion


def read_source(paths: Sequence[str], org: str | None, plan_file: str | None) -> Source:
    """What to apply, read and checked before any API call: a saved plan, or the orgs' rules."""
    if plan_file:
        if tuple(paths) not in ((), (".",)):
            raise UsageError("--plan applies the saved plan as it is: give no PATHS with it")
        return load_plan_file(plan_file, org)
    rule_set = loader.load(paths or (".",), today=utc_today())
    print_warnings(rule_set.warnings)
    return select_orgs(rule_set, org)


def make(
    client: TriageClient,
    source: Source,
    plan_file: str | None,
    prov: Provenance,
    target: str | None = None,
) -> Plan:
    """The saved plan, refused if an org changed since, or a fresh plan from the files
    (on ``target`` for every org when given, as ``plan --target``)."""
    if isinstance(source, Plan):
        assert plan_file is not None
        check_saved_plan(client, source, plan_file)
        return source
    return make_plan(client, source, prov, target=target)[0]


def apply_all(
    client: TriageClient,
    plan: Plan,
    log: AuditLog | None,
    concurrency: int,
    settle: float,
    provenance: Provenance = Provenance(),  # noqa: B008 - frozen
) -> None:
    started = time.monotonic()  # the time spent applying, not reading or confirming
    totals = dict.fromkeys(("create", "update", "move", "replace", "delete"), 0)
    for org_plan in plan.orgs:
        if org_plan.has_changes:
            conclusion = apply_one(client, org_plan, log, concurrency, settle)
            for change, status in conclusion.statuses:
                totals[change.action] += status == APPLIED
    for policy_plan in plan.policies:  # orgs on Alert Policies
        if policy_plan.has_changes:
            from reconciler.commands.apply_policies import apply_policies_org

            done = apply_policies_org(client, policy_plan, log, provenance, concurrency, settle)
            for each, status in done.statuses:
                totals[each.action] += status == APPLIED
    reordered = "".join(  # only Alert Policies move and replace
        f"{totals[action]} {action}d, " for action in ("move", "replace") if totals[action]
    )
    click.echo(
        f"Apply complete: {totals['create']} created, {totals['update']} updated, {reordered}"
        f"{totals['delete']} deleted in {time.monotonic() - started:.1f} s, "
        f"{client.total_calls} API calls."
    )


def dry_run_all(client: TriageClient, plan: Plan, concurrency: int) -> None:
    """``--dry-run``: rehearse every Alert Policies org's writes; legacy triage has no dry run."""
    for org_plan in plan.orgs:
        if org_plan.has_changes:
            click.echo(f"Org {org_plan.org} is on legacy triage, which has no dry run: skipped.")
    for policy_plan in plan.policies:
        if policy_plan.has_changes:
            from reconciler.commands.apply_policies import dry_run_org

            dry_run_org(client, policy_plan, concurrency)


def run(
    paths: Sequence[str],
    *,
    org: str | None,
    plan_file: str | None,
    yes: bool,
    force: bool,
    audit_log: str | None,
    concurrency: int,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
    dry_run: bool = False,
) -> int:
    """Apply the files in ``paths`` (or the saved ``plan_file``); an ``EXIT_*`` code.

    Without ``yes`` it asks on a terminal and refuses anywhere else, saved plan or not. Ctrl-C
    and SIGTERM return ``EXIT_INTERRUPTED`` once the report is printed. ``dry_run`` only
    rehearses the Alert Policies writes with the server (``dry_run=true``) and writes nothing.
    """
    source = read_source(paths, org, plan_file)
    if audit_log:
        check_output_file(audit_log, "--audit-log", make_parents=True)
    provenance = detect()
    log: AuditLog | None = None
    try:
        with (
            sigterm_interrupts(),
            open_client(api_url, retry=retry, concurrency=concurrency) as client,
        ):
            # A dry run previews the Alert Policies writes, also before an org has moved.
            preview = ALERT_POLICIES if dry_run else None
            plan = make(client, source, plan_file, provenance, target=preview)
            render_text(plan, sys.stdout, colour=use_colour())
            if not plan.has_changes:
                click.echo("No changes. The live rules match the files.")
                return EXIT_OK
            if dry_run:
                dry_run_all(client, plan, concurrency)
                return EXIT_OK
            if not force:
                for org_plan in plan.orgs:
                    org_plan.raise_if_unsafe()
                for policy_plan in plan.policies:
                    policy_plan.raise_if_unsafe()
            log = AuditLog.open(audit_log, provenance) if audit_log else None
            confirm(yes)
            # A lost answer may still commit at the server until the request timeout has passed.
            apply_all(client, plan, log, concurrency, settle=retry.timeout, provenance=provenance)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    finally:
        if log is not None:
            log.close()
    return EXIT_OK


@dataclass(frozen=True)
class Options:
    """``apply``'s command line, in ``--help`` order."""

    paths: tuple[str, ...] = paths_argument()
    org: str | None = org_option("Only this org (default: every org in the files).")
    plan_file: str | None = option(
        "--plan",
        type=click.Path(exists=True, dir_okay=False),
        help="Apply exactly this saved plan (from plan --out); refused if the org changed.",
    )
    yes: bool = option("--yes", is_flag=True, help="Do not ask for confirmation.")
    force: bool = option(
        "--force", is_flag=True, help="Apply a plan that crosses a safety threshold."
    )
    audit_log: str | None = option(
        "--audit-log",
        type=click.Path(dir_okay=False),
        help="Append one JSON line per applied change to this file.",
    )
    concurrency: int = option(
        "--concurrency",
        type=click.IntRange(1, 64),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Requests in flight at once: pages while listing, POSTs and DELETEs while writing. "
        "Against Socket the run paces itself to the 600-a-minute rate limit whatever this is.",
    )
    dry_run: bool = option(
        "--dry-run",
        is_flag=True,
        help="Only rehearse the Alert Policies writes with the server (dry_run=true), before or "
        "after the org moves; nothing is written.",
    )
    api: Api = api_options()


@click_command("apply", Options)
def command(given: Options) -> int:
    """Make the org match the files: batched upserts and deletes, then verify."""
    return run(
        given.paths or (".",),
        org=given.org,
        plan_file=given.plan_file,
        yes=given.yes,
        force=given.force,
        audit_log=given.audit_log,
        concurrency=given.concurrency,
        api_url=given.api.api_url,
        retry=given.api.retry,
        dry_run=given.dry_run,
    )
