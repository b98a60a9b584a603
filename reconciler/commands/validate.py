"""``socket-triage validate``: check rule files and say what they hold.

Errors propagate as ``ConfigError`` for the CLI's one handler to print; warnings go to stderr
here, one ``FILE:LINE:COL: warning: ...`` line each, and do not fail the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import click

from reconciler.commands import print_warnings
from reconciler.rules import loader


def run(paths: Sequence[str], today: dt.date | None = None) -> int:
    """Load ``paths``; print warnings and a one-line summary. Returns the exit code (0)."""
    ruleset = loader.load(paths, today=today)
    print_warnings(ruleset.warnings)
    rules, orgs, files = ruleset.rule_count, len(ruleset.orgs), len(ruleset.files)
    click.echo(f"OK: {_count(rules, 'rule')} for {_count(orgs, 'org')} in {_count(files, 'file')}.")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
