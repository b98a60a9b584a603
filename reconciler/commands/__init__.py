"""One module per subcommand, each exposing ``run(...) -> int``; shared output helpers here.

Kept free of API imports so that ``validate`` starts without loading the HTTP client.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from reconciler.errors import Diagnostic
from reconciler.redact import redact


def print_warnings(warnings: Sequence[Diagnostic]) -> None:
    """One ``FILE:LINE:COL: warning: ...`` line each, on stderr; warnings never fail a run."""
    for warning in warnings:
        click.echo(redact(str(warning)), err=True)


def use_colour() -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")
