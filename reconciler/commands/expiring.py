"""``socket-triage expiring``: the rules in the files that expire within N days.

For a scheduled job that opens or updates an issue before an exception lapses. It reads only the
files (no token, no API call); a rule already past its date is listed too, marked expired,
because the next apply removes it.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence

from reconciler.commands import print_warnings
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
    EXPIRING_RENDERERS[fmt](report, sys.stdout)
    return EXIT_CHANGES if detailed_exitcode and report.rules else EXIT_OK
