"""``socket-triage apply``: make each org match the files (or a saved plan), then verify."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import click

from reconciler.commands import print_warnings, use_colour
from reconciler.engine import audit
from reconciler.engine.apply import ApplyResult, apply_org, verify
from reconciler.engine.orgs import make_plan, select_orgs
from reconciler.engine.plan import OrgPlan
from reconciler.engine.planfile import saved_plan
from reconciler.engine.provenance import Provenance, detect
from reconciler.errors import (
    ApplyError,
    ReadOnlyError,
    UsageError,
    VerificationError,
)
from reconciler.http.client import SocketClient, open_client
from reconciler.http.retry import RetryPolicy
from reconciler.render import render_text
from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.triage.selector import LiveRule

PROGRESS_MIN_CHANGES = 100


def confirm(yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to apply without --yes when not on a terminal")
    click.confirm("Apply these changes?", abort=True, err=True)


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


def report_partial(result: ApplyResult, org_plan: OrgPlan) -> ApplyError:
    """Print exactly what was and was not applied; return the error to raise."""
    applied = {id(c) for c in result.applied}
    unknown = {id(c) for c in result.unknown}
    for change in org_plan.changes:
        status = "applied" if id(change) in applied else "not applied"
        if id(change) in unknown:
            status = "outcome unknown"
        click.echo(f"  {status}: {change.action} {change.selector.describe()}", err=True)
    total = len(org_plan.changes)
    # A read-only org stays read-only: promising that a rerun converges would be wrong there.
    advice = "" if isinstance(result.error, ReadOnlyError) else " Running apply again converges."
    return ApplyError(
        f"apply of org {org_plan.org} stopped: {result.error}. Applied {len(result.applied)} "
        f"of {total} changes ({result.count('create')} created, {result.count('update')} "
        f"updated, {result.count('delete')} deleted); {total - len(result.applied)} not "
        f"applied.{advice}"
    )


def apply_one(
    client: SocketClient,
    org_plan: OrgPlan,
    before: list[LiveRule],
    provenance: Provenance,
    audit_log: str | None,
    concurrency: int,
) -> ApplyResult:
    with apply_progress(org_plan) as progress:
        result = apply_org(client, org_plan, concurrency=concurrency, progress=progress)
    problems: list[str] = []
    after: list[LiveRule] = []
    if result.error is None:
        problems, after = verify(client, org_plan, before)
    if audit_log:
        created = {r.selector: r.uuid for r in after}
        audit.append(audit_log, result.applied, provenance, created_uuids=created)
    if result.error is not None:
        raise report_partial(result, org_plan)
    if problems:
        for line in problems:
            click.echo(f"  remains: {line}", err=True)
        raise VerificationError(
            f"org {org_plan.org} still differs from the plan in {len(problems)} ways after apply"
        )
    return result


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
) -> int:
    provenance = detect()
    rule_set = None if plan_file else loader.load(paths, today=utc_today())
    if rule_set is not None:
        print_warnings(rule_set.warnings)
    with open_client(api_url, retry=retry) as client:
        if plan_file:
            plan, lives = saved_plan(client, plan_file, org)
        else:
            assert rule_set is not None
            plan, lives = make_plan(client, select_orgs(rule_set, org), provenance)
        render_text(plan, sys.stdout, colour=use_colour())
        if not plan.has_changes:
            click.echo("No changes. The live rules match the files.")
            return 0
        if not force:
            for org_plan in plan.orgs:
                org_plan.raise_if_unsafe()
        if not plan_file:
            confirm(yes)
        started = time.monotonic()  # the time spent applying, not reading or confirming
        totals = {"create": 0, "update": 0, "delete": 0}
        for org_plan in plan.orgs:
            if org_plan.has_changes:
                result = apply_one(
                    client, org_plan, lives[org_plan.org], provenance, audit_log, concurrency
                )
                for action in totals:
                    totals[action] += result.count(action)
        elapsed = time.monotonic() - started
        click.echo(
            f"Apply complete: {totals['create']} created, {totals['update']} updated, "
            f"{totals['delete']} deleted in {elapsed:.1f} s, {client.total_calls} API calls."
        )
    return 0
