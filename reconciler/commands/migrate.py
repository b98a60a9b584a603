"""``socket-triage migrate``: an org's legacy triage rules -> native Alert Policies rule files.

Reads the legacy rules from the org (its legacy listing stays readable after the move) or, when
PATHS are given, from the org's rule files; translates them with Socket's translate endpoint;
writes ``DIR/ORG.yaml`` (``target: alert-policies``, the org's policies, policy rules most
specific first, resolutions) and ``DIR/ORG-migration.md`` (what could not be translated, and
why). The org's live policies (the default included) and the live rules of its named policies
are written too (``policies.export.adopt_policies``), so that the file describes the whole org.
Translate creates nothing: migrate writes to no org, only to ``DIR``.

When a legacy rule that decides alerts was left out (Socket cannot translate it, or it is a
live duplicate whose state differs from the one kept), the files are still written, and
``migrate`` fails naming each such rule: the files alone would decide those alerts otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import click

from reconciler.commands import check_output_file, print_warnings, write_output
from reconciler.commands.options import (
    Api,
    api_options,
    click_command,
    option,
    org_option,
    paths_argument,
)
from reconciler.engine.orgs import select_orgs
from reconciler.errors import IncompleteMigrationError, UsageError
from reconciler.exits import EXIT_OK
from reconciler.http.retry import RetryPolicy
from reconciler.policies import migrate as migration
from reconciler.policies.export import adopt_policies
from reconciler.render.common import count
from reconciler.render.migratefile import Settings, rule_file, summary
from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.rules.ruleset import OrgRules
from reconciler.triage.listing import list_live
from reconciler.wiring import open_client, policies_client

DEFAULT_OUT: Final = "alert-policies"


def output_paths(out: str, org: str) -> tuple[Path, Path]:
    """``out/ORG.yaml`` and ``out/ORG-migration.md``, checked before anything is read."""
    directory = Path(out)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out {out}: not a directory")
    files = (directory / f"{org}.yaml", directory / f"{org}-migration.md")
    for path in files:
        check_output_file(str(path), "--out", make_parents=True)
    return files


def run(
    paths: Sequence[str],
    *,
    org: str,
    out: str = DEFAULT_OUT,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
) -> int:
    """Migrate ``org`` from its live legacy rules, or from the files in ``paths``; ``EXIT_OK``.

    Bad files and an unwritable ``out`` fail before any API call. Raises
    ``IncompleteMigrationError`` after writing the files when a rule that decides alerts was
    left out (``Migration.deciding_left_out``).
    """
    today = utc_today()
    org_rules: OrgRules | None = None
    if paths:
        rule_set = loader.load(paths, today=today)  # invalid files: nothing is sent
        print_warnings(rule_set.warnings)
        org_rules = select_orgs(rule_set, org)[0]
    yaml_path, summary_path = output_paths(out, org)
    with open_client(api_url, retry=retry) as client:
        if org_rules is not None:
            items, expired = migration.from_files(org_rules, today)
            duplicates: list[migration.Duplicate] = []
            source = f"the rule files ({', '.join(org_rules.files)})"
        else:
            items, duplicates = migration.from_live(list_live(client, org))
            expired = []
            source = "the live legacy triage rules"
        ordered = migration.most_specific_first(items)
        policies = policies_client(client)
        done = migration.migrate(policies, org, ordered, native=org_rules)
        adopt_policies(done, policies, org, org_rules)
    done.expired, done.duplicates = expired, duplicates
    settings = Settings()
    if org_rules is not None:  # only what differs from the defaults is written
        settings = Settings(None if org_rules.prune else False, org_rules.safety)
    write_output(yaml_path, rule_file(org, done, source, settings), "--out")
    write_output(summary_path, summary(org, done, source, yaml_path.name), "--out")
    written = f"{count(len(done.rules), 'policy rule')} and "
    written += count(len(done.resolutions), "resolution")
    refused = ""
    if done.refused:
        refused = f"; {count(len(done.refused), 'legacy rule')} could not be translated"
    click.echo(f"Wrote {written} of org {org} to {yaml_path}{refused}; see {summary_path}.")
    if done.policies_unavailable:
        click.echo(
            f"warning: the org's policies could not be read ({done.policies_unavailable}); "
            f"{yaml_path} declares none (see {summary_path})",
            err=True,
        )
    left_out = done.deciding_left_out()
    if left_out:
        raise IncompleteMigrationError(
            f"{yaml_path} leaves out {count(len(left_out), 'legacy rule')} deciding alerts: "
            f"{'; '.join(left_out)}; write them by hand (see {summary_path}) before the move"
        )
    return EXIT_OK


@dataclass(frozen=True)
class Options:
    """``migrate``'s command line, in ``--help`` order."""

    paths: tuple[str, ...] = paths_argument()
    org: str = org_option("The Socket org slug to migrate.", required=True)
    out: str = option(
        "--out",
        type=click.Path(file_okay=False),
        default=DEFAULT_OUT,
        show_default=True,
        help="Directory to write ORG.yaml (native policy rules) and ORG-migration.md (the "
        "summary).",
    )
    api: Api = api_options()


@click_command("migrate", Options)
def command(given: Options) -> int:
    """Translate the org's legacy triage rules (or PATHS' rules) into Alert Policies rule files."""
    return run(
        given.paths,  # none: the org's live legacy rules
        org=given.org,
        out=given.out,
        api_url=given.api.api_url,
        retry=given.api.retry,
    )
