"""``socket-triage export``: write an org's live rules as a rule file, ready to commit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.commands import check_output_file, echo, write_output
from reconciler.commands.options import Api, api_options, click_command, option, org_option
from reconciler.errors import UsageError
from reconciler.exits import EXIT_OK
from reconciler.http.retry import RetryPolicy
from reconciler.render.common import count
from reconciler.triage.export import render_rule_file
from reconciler.triage.listing import list_live
from reconciler.wiring import open_client


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
) -> int:
    """Export ``org``'s live rules to ``out`` (a file or directory) or stdout; ``EXIT_OK``."""
    target = output_path(out, org, force=force) if out is not None else None
    with open_client(api_url, retry=retry) as client:
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
    api: Api = api_options()


@click_command("export", Options)
def command(given: Options) -> int:
    """Write the org's live rules as a rule file, ready to commit."""
    return run(
        org=given.org,
        out=given.out,
        api_url=given.api.api_url,
        force=given.force,
        retry=given.api.retry,
    )
