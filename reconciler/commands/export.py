"""``socket-triage export``: write an org's live rules as a rule file, ready to commit.

The target is chosen as plan chooses it (``wiring.choose_target``: ``--target``, else the org's
migration status). On legacy triage the file holds the triage rules; on Alert Policies it is the
native file (``policies.export``): the policies, their rules in rank order and the resolutions.
After the move the legacy list is a frozen copy, never exported as if it were live: export says
so on stderr and writes the native state, and ``--target triage`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.api import ALERT_POLICIES, TRIAGE
from reconciler.commands import check_output_file, echo, write_output
from reconciler.commands.options import (
    Api,
    api_options,
    click_command,
    option,
    org_option,
    target_option,
)
from reconciler.engine.targets import TargetChoice
from reconciler.errors import UsageError
from reconciler.exits import EXIT_ERROR, EXIT_OK
from reconciler.http.retry import RetryPolicy
from reconciler.policies.client import PoliciesClient
from reconciler.policies.export import read_native
from reconciler.redact import redact
from reconciler.render.common import count
from reconciler.render.escape import terminal_safe
from reconciler.render.policiesfile import native_file
from reconciler.triage.client import TriageClient
from reconciler.triage.export import render_rule_file
from reconciler.triage.listing import list_live
from reconciler.wiring import choose_target, open_client, policies_client, read_status


def output_path(out: str, org: str, *, force: bool = False) -> Path:
    """``out`` itself for a file name with a suffix, else ``out/ORG.yaml``; checked up front.

    ``org`` is a slug (the CLI checks it), so the file lands directly inside ``out``. An
    existing file is refused unless ``force``: it may hold owners, tickets and expiries added
    since the last export, which the live rules do not carry.
    """
    target = Path(out)
    if target.is_dir() or not target.suffix:
        target = target / f"{org}.yaml"
    checked = check_output_file(str(target), "--out", make_parents=True)
    if checked.exists() and not force:
        raise UsageError(f"--out {checked}: already exists; pass --force to overwrite it")
    return checked


def run(
    *,
    org: str,
    out: str | None,
    api_url: str,
    force: bool = False,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008
    target: str | None = None,
) -> int:
    """Export ``org``'s live rules to ``out`` (a file or directory) or stdout.

    ``EXIT_OK``; ``EXIT_ERROR`` after writing when live items were left out (each named on
    stderr). ``target`` is ``--target``.
    """
    path = output_path(out, org, force=force) if out is not None else None
    with open_client(api_url, retry=retry) as client:
        policies = policies_client(client)
        choice = export_target(policies, org, target)
        if choice.target == ALERT_POLICIES:
            return _export_native(policies, org, path)
        return _export_triage(client, org, path)


def export_target(client: PoliciesClient, org: str, override: str | None) -> TargetChoice:
    """The target as plan would choose it; ``--target triage`` after the move is refused (the
    legacy list is then a frozen copy: exporting it would adopt rules that decide nothing)."""
    status, unavailable = read_status(client, org)
    natural = choose_target(status, unavailable)
    if natural.target == ALERT_POLICIES:
        state = f"migration state {status.state}" if status and status.enrolled else "not enrolled"
        moved = f"org {org} evaluates Alert Policies ({state})"
        if override == TRIAGE:
            raise UsageError(
                f"--target {TRIAGE}: {moved}; its legacy triage rules are a frozen copy that "
                "decides nothing. Export without --target to write its policies, policy rules "
                "and resolutions."
            )
        click.echo(
            f"{moved}: its legacy triage list is a frozen copy, not exported; exporting its "
            "policies, policy rules and resolutions.",
            err=True,
        )
    return choose_target(status, unavailable, override=override)


def _export_native(client: PoliciesClient, org: str, path: Path | None) -> int:
    state = read_native(client, org)
    text = native_file(org, state)
    if path is None:
        echo(text, nl=False)
    else:
        write_output(path, text, "--out")
        number = len(state.policies)
        written = f"{number} {'policy' if number == 1 else 'policies'}, "
        written += f"{count(len(state.rules), 'policy rule')} and "
        written += count(len(state.resolutions), "resolution")
        click.echo(f"Wrote {written} of org {org} to {path}.", err=True)
    if not state.left_out:
        return EXIT_OK
    for item in state.left_out:  # live names and notes: anything a dashboard let people type
        click.echo(terminal_safe(redact(f"left out: {item}")), err=True)
    where = path or "the output"
    click.echo(
        f"error: {where} leaves out {count(len(state.left_out), 'live item')} the files cannot "
        "hold (listed above): plan would treat each as not declared; fix them in Socket or "
        "write them by hand",
        err=True,
    )
    return EXIT_ERROR


def _export_triage(client: TriageClient, org: str, target: Path | None) -> int:
    live = list_live(client, org)
    exported = render_rule_file(org, live)
    if exported.missing_notes:
        click.echo(
            f"warning: some live rules have no note ({exported.missing_notes} of "
            f"{exported.rules}); the export marks them TODO, and plan shows them as note "
            "updates until each gets its reason.",
            err=True,
        )
    if target is None:
        echo(exported.text, nl=False)
        return EXIT_OK
    write_output(target, exported.text, "--out")
    written = count(exported.rules, "live rule")
    left_out = (
        f" ({count(exported.duplicates, 'duplicate')} left out)" if exported.duplicates else ""
    )
    click.echo(f"Wrote {written} of org {org} to {target}{left_out}.", err=True)
    return EXIT_OK


@dataclass(frozen=True)
class Options:
    """``export``'s command line, in ``--help`` order."""

    org: str = org_option("The Socket org slug to export.", required=True)
    out: str | None = option(
        "--out",
        type=click.Path(),
        help="A .yaml file, or a directory to write ORG.yaml into (default: stdout).",
    )
    force: bool = option(
        "--force", is_flag=True, help="Overwrite the --out file if it exists (edits are lost)."
    )
    target: str | None = target_option(
        "Export this API's rules whatever the org's migration status: alert-policies before the "
        "move writes its policies as they stand. After the move, triage is refused: the legacy "
        "list is a frozen copy. Default: the migration status, as plan chooses."
    )
    api: Api = api_options()


@click_command("export", Options)
def command(given: Options) -> int:
    """Write the org's live rules (or, once it has moved, its alert policies) as a rule file."""
    return run(
        org=given.org,
        out=given.out,
        api_url=given.api.api_url,
        force=given.force,
        retry=given.api.retry,
        target=given.target,
    )
