"""``socket-triage validate``: check rule files and say what they hold.

``--format text`` (the default) lets errors propagate as ``ConfigError`` for the CLI's one
handler to print, and writes warnings to stderr, one ``FILE:LINE:COL: warning: ...`` line each.
``json`` and ``github`` (workflow commands, which annotate the lines of a pull request) write
every finding to stdout themselves, and exit 1 when any is an error.

``--strict`` makes every warning about what the files say an error, as a compiler's
``-Werror`` does: a note still ``export``'s TODO placeholder, an unknown alert type. Warnings
about the calendar (a rule expires soon or has expired) stay warnings: the scheduled ``expire``
job exists to act on them, and a commit should not fail because a date came closer. The
pre-commit hook and the Action validate this way, so a placeholder never reaches Socket.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

import click

from reconciler.commands import print_warnings
from reconciler.commands.options import click_command, format_option, option, paths_argument
from reconciler.errors import ConfigError, Diagnostic
from reconciler.exits import EXIT_ERROR, EXIT_OK
from reconciler.render.common import count
from reconciler.render.diagnostics import DIAGNOSTIC_RENDERERS
from reconciler.rules import loader


def run(
    paths: Sequence[str], *, fmt: str = "text", strict: bool = False, today: dt.date | None = None
) -> int:
    """Load ``paths``; report as ``fmt``. ``EXIT_OK``, or ``EXIT_ERROR`` for invalid files
    (with ``strict``, also for files with warnings, each reported as an error)."""
    if fmt == "text":
        ruleset = _load(paths, strict, today)
        print_warnings(ruleset.warnings)
        click.echo(_summary(ruleset))
        return EXIT_OK
    try:
        ruleset = _load(paths, strict, today)
    except ConfigError as exc:
        errors = sum(1 for d in exc.diagnostics if d.severity == "error")
        summary = f"{count(errors, 'error')} in the rule files."
        DIAGNOSTIC_RENDERERS[fmt](exc.diagnostics, summary, sys.stdout)
        return EXIT_ERROR
    DIAGNOSTIC_RENDERERS[fmt](ruleset.warnings, _summary(ruleset), sys.stdout)
    return EXIT_OK


def _load(paths: Sequence[str], strict: bool, today: dt.date | None) -> loader.RuleSet:
    """The rule set; with ``strict`` a ``ConfigError`` when it has warnings, each an error."""
    try:
        ruleset = loader.load(paths, today=today)
    except ConfigError as exc:
        if not strict:
            raise
        raise ConfigError(_as_errors(exc.diagnostics)) from None
    if strict and any(not warning.dated for warning in ruleset.warnings):
        raise ConfigError(_as_errors(ruleset.warnings))
    return ruleset


def _as_errors(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Each warning about the files as an error; calendar warnings stay warnings."""
    return [d if d.dated else replace(d, severity="error") for d in diagnostics]


def _summary(ruleset: loader.RuleSet) -> str:
    rules, orgs, files = ruleset.rule_count, len(ruleset.orgs), len(ruleset.files)
    return f"OK: {count(rules, 'rule')} for {count(orgs, 'org')} in {count(files, 'file')}."


@dataclass(frozen=True)
class Options:
    """``validate``'s command line, in ``--help`` order."""

    paths: tuple[str, ...] = paths_argument()
    fmt: str = format_option(
        ["text", "json", "github"],
        "text; json; or github: workflow commands that annotate the lines of a pull request.",
    )
    strict: bool = option(
        "--strict",
        is_flag=True,
        help="Fail (exit 1) on warnings too, each reported as an error: a TODO note from "
        "export, an unknown alert type. Expiry warnings stay warnings.",
    )


@click_command("validate", Options)
def command(given: Options) -> int:
    """Check rule files (files or directories) and report every problem as FILE:LINE:COL."""
    return run(given.paths or (".",), fmt=given.fmt, strict=given.strict)
