"""``socket-triage expiring``: the rules in the files that expire within N days.

For a scheduled job that opens or updates an issue before an exception lapses. It reads only the
files (no token, no API call); a rule already past its date is listed too, marked expired,
because the next apply removes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import click

from reconciler.commands import print_warnings, show
from reconciler.commands.options import (
    click_command,
    detailed_exitcode_option,
    format_option,
    option,
    paths_argument,
)
from reconciler.exits import EXIT_CHANGES, EXIT_OK
from reconciler.render.expiring import EXPIRING_RENDERERS, Report
from reconciler.rules import loader
from reconciler.rules.model import utc_today


def run(
    paths: Sequence[str],
    *,
    within: int,
    fmt: str,
    detailed_exitcode: bool,
    today: dt.date | None = None,
) -> int:
    """List the rules expiring within ``within`` days as ``fmt``.

    Returns ``EXIT_CHANGES`` under ``detailed_exitcode`` when any rule is listed, else
    ``EXIT_OK``.
    """
    today = today or utc_today()
    rule_set = loader.load(paths, today=today)
    print_warnings(rule_set.warnings)
    rules = [rule for org in rule_set.orgs.values() for rule in org.rules]
    report = Report.of(rules, today, within)
    show(lambda out: EXPIRING_RENDERERS[fmt](report, out))
    return EXIT_CHANGES if detailed_exitcode and report.rules else EXIT_OK


@dataclass(frozen=True)
class Options:
    """``expiring``'s command line, in ``--help`` order."""

    paths: tuple[str, ...] = paths_argument()
    within: int = option(
        "--within",
        type=click.IntRange(0, 3660),
        default=30,
        show_default=True,
        help="List rules whose expires date is at most this many days away (expired ones too).",
    )
    fmt: str = format_option(
        ["text", "json", "markdown"], "Output format on stdout (markdown: an issue body)."
    )
    detailed_exitcode: bool = detailed_exitcode_option("Exit 2 when at least one rule is listed.")


@click_command("expiring", Options)
def command(given: Options) -> int:
    """List the rules in the files that expire within N days; reads no API."""
    return run(
        given.paths or (".",),
        within=given.within,
        fmt=given.fmt,
        detailed_exitcode=given.detailed_exitcode,
    )
