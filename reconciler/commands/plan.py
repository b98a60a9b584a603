"""``socket-triage plan``: list each org's live rules, diff them against the files, render."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import click

from reconciler.budget import estimate
from reconciler.commands import check_output_file, print_warnings, show, use_colour, write_output
from reconciler.commands.options import (
    Api,
    api_options,
    click_command,
    detailed_exitcode_option,
    format_option,
    option,
    org_option,
    paths_argument,
    target_option,
)
from reconciler.engine.flow import make_plan
from reconciler.engine.orgs import select_orgs
from reconciler.engine.plan import Plan
from reconciler.engine.provenance import detect
from reconciler.errors import UsageError
from reconciler.exits import EXIT_CHANGES, EXIT_EXPIRED, EXIT_OK
from reconciler.http.retry import RetryPolicy
from reconciler.render import DEFAULT_FORMAT, RENDERERS
from reconciler.render.common import is_expiry, plan_dict
from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.wiring import Wiring, open_client


def plan_document(plan: Plan) -> str:
    """The plan as saved by ``--out``. It holds no secret, and ``write_output`` redacts tokens
    from it regardless, as from every file a command writes."""
    return json.dumps(plan_dict(plan), indent=2, sort_keys=True) + "\n"


def detailed_exit(plan: Plan) -> int:
    """``EXIT_OK`` without changes; ``EXIT_EXPIRED`` when every change is the delete of an
    expired rule (the files say so; nobody edited the dashboard); else ``EXIT_CHANGES``."""
    changes = [c for org in plan_dict(plan, fingerprint=False)["orgs"] for c in org["changes"]]
    if not changes:
        return EXIT_OK
    return EXIT_EXPIRED if all(is_expiry(c) for c in changes) else EXIT_CHANGES


def run(
    paths: Sequence[str],
    *,
    org: str | None,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
    target: str | None = None,
) -> int:
    """Plan every org in ``paths`` (or just ``org``), render as ``fmt``, save to ``out``.

    Each org is planned on its target (``reconciler.wiring``): ``target`` (``--target``) first,
    then the files' pin, then the org's migration status.

    Under ``detailed_exitcode`` returns ``detailed_exit(plan)``, else ``EXIT_OK``. Bad files and
    an unwritable ``out`` fail before any API call.
    """
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(RENDERERS)}")
    rule_set = loader.load(paths, today=utc_today())  # invalid files: nothing is sent
    print_warnings(rule_set.warnings)
    orgs = select_orgs(rule_set, org)
    saved = check_output_file(out, "--out") if out else None
    with open_client(api_url, retry=retry) as client:
        plan = make_plan(Wiring(client), orgs, detect(), utc_today(), target=target)
    colour = use_colour()
    show(lambda out: renderer(plan, out, colour=colour), colour=colour)
    if plan.has_changes:  # on stderr: stdout is the plan (a document, in JSON or Markdown)
        click.echo(estimate(plan.orgs), err=True)
    if saved is not None:
        write_output(saved, plan_document(plan), "--out")
    return detailed_exit(plan) if detailed_exitcode else EXIT_OK


@dataclass(frozen=True)
class Options:
    """``plan``'s command line, in ``--help`` order."""

    paths: tuple[str, ...] = paths_argument()
    org: str | None = org_option("Only this org (default: every org in the files).")
    fmt: str = format_option(RENDERERS, "Output format on stdout.", default=DEFAULT_FORMAT)
    out: str | None = option("--out", type=click.Path(), help="Save the plan as JSON.")
    detailed_exitcode: bool = detailed_exitcode_option(
        "Exit 2 when there are changes; 4 when the only changes are deletes of expired rules."
    )
    target: str | None = target_option(
        "Plan against this API whatever the org's migration status and the files' target: say "
        "(alert-policies before the move: a preview of the future state). Default: the files' "
        "target:, else the migration status.",
    )
    api: Api = api_options()


@click_command("plan", Options)
def command(given: Options) -> int:
    """Diff the org's live rules against the files and show what apply would do."""
    return run(
        given.paths or (".",),
        org=given.org,
        fmt=given.fmt,
        out=given.out,
        detailed_exitcode=given.detailed_exitcode,
        target=given.target,
        api_url=given.api.api_url,
        retry=given.api.retry,
    )
