"""``socket-triage apply``: make each org match the files (or a saved plan), then verify.

Every output path is checked before the first API call, and the audit log is opened before the
first write. Ctrl-C and SIGTERM stop the apply cleanly: no new request is started, those in
flight finish, the outcomes are settled by one listing (a second Ctrl-C skips it), the report
says what was applied, and the exit code is 130. The flow itself is ``engine.flow``'s, the same
for every target.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import FrameType

import click

from reconciler.api import ALERT_POLICIES, DEFAULT_CONCURRENCY
from reconciler.budget import check_quota
from reconciler.commands import check_output_file, echo, print_warnings, show, use_colour
from reconciler.commands.options import (
    Api,
    api_options,
    click_command,
    option,
    org_option,
    paths_argument,
)
from reconciler.engine import flow
from reconciler.engine.audit import AuditLog
from reconciler.engine.orgs import select_orgs
from reconciler.engine.plan import Plan
from reconciler.engine.provenance import Provenance, detect
from reconciler.errors import UsageError
from reconciler.exits import EXIT_INTERRUPTED, EXIT_OK
from reconciler.http import waits
from reconciler.http.retry import RetryPolicy
from reconciler.redact import redact
from reconciler.render import render_text
from reconciler.render.escape import terminal_safe
from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.rules.ruleset import OrgRules
from reconciler.wiring import Wiring, load_plan, open_client

# What apply works from: a saved plan, or the rules of the orgs to plan now.
Source = Plan | list[OrgRules]


def confirm(yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to apply without --yes when not on a terminal")
    click.confirm("Apply these changes?", abort=True, err=True)


def say(line: str) -> None:
    """One line of the apply's report, on stderr, safe for a terminal."""
    click.echo(terminal_safe(redact(line)), err=True)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM (a cancelled CI job) as Ctrl-C while applying: stop cleanly, report.

    Either signal also ends every wait of every thread at once (``http.waits``): a worker
    asleep in a long Retry-After must not hold the report back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        waits.interrupt()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        waits.resume()


def read_source(paths: Sequence[str], org: str | None, plan_file: str | None) -> Source:
    """What to apply, read and checked before any API call: a saved plan, or the orgs' rules."""
    if plan_file:
        if tuple(paths) not in ((), (".",)):
            raise UsageError("--plan applies the saved plan as it is: give no PATHS with it")
        return load_plan(plan_file, org)
    rule_set = loader.load(paths or (".",), today=utc_today())
    print_warnings(rule_set.warnings)
    return select_orgs(rule_set, org)


def make(
    wiring: Wiring,
    source: Source,
    plan_file: str | None,
    prov: Provenance,
    target: str | None = None,
) -> Plan:
    """The saved plan, refused if an org changed since, or a fresh plan from the files
    (on ``target`` for every org when given, as ``plan --target``)."""
    if isinstance(source, Plan):
        assert plan_file is not None
        flow.check_saved_plan(wiring, source, plan_file)
        return source
    return flow.make_plan(wiring, source, prov, utc_today(), target=target)


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
            wiring = Wiring(client, say)
            # A dry run previews the Alert Policies writes, also before an org has moved.
            preview = ALERT_POLICIES if dry_run else None
            plan = make(wiring, source, plan_file, provenance, target=preview)
            colour = use_colour()
            show(lambda out: render_text(plan, out, colour=colour), colour=colour)
            if not plan.has_changes:
                echo("No changes. The live rules match the files.")
                return EXIT_OK
            if dry_run:
                for line in flow.dry_run(wiring, plan, concurrency):
                    echo(line)
                return EXIT_OK
            if not force:
                plan.raise_if_unsafe()
                check_quota(client, plan.orgs)  # free: refuse what the quota cannot finish
            log = AuditLog.open(audit_log, provenance) if audit_log else None
            confirm(yes)
            # A lost answer may still commit at the server until the request timeout has passed.
            done = flow.apply_plan(
                wiring,
                plan,
                log,
                provenance=provenance,
                concurrency=concurrency,
                settle=retry.timeout,
                say=say,
            )
            echo(done)
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
