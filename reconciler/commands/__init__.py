"""One module per subcommand, each exposing ``run(...) -> int``; what they share is here.

Each module ends with its click command, ``command``: an ``Options`` dataclass (one field per
option, ``options.py``) and a function that passes the fields to ``run`` by keyword, so that
mypy catches a renamed option. ``run`` returns an ``EXIT_*`` code from ``reconciler.exits``.
Only ``cli.py`` imports these modules. Kept free of API imports so that ``validate`` starts
without loading the HTTP client.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from reconciler.errors import Diagnostic, UsageError
from reconciler.redact import redact
from reconciler.render.escape import terminal_safe


def print_warnings(warnings: Sequence[Diagnostic]) -> None:
    """One ``FILE:LINE:COL: warning: ...`` line each, on stderr; warnings never fail a run."""
    for warning in warnings:
        click.echo(terminal_safe(redact(str(warning))), err=True)


def use_colour() -> bool:
    """Colour only on a terminal, never with NO_COLOR set (no-color.org) or ``--no-color``."""
    context = click.get_current_context(silent=True)
    if context is not None and context.color is False:
        return False
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def check_output_file(path: str, option: str, *, make_parents: bool = False) -> Path:
    """Refuse, before anything is sent, an output file that cannot be written.

    That is a path that names a directory, lies under a regular file, or lies in a directory
    that is missing (unless ``make_parents``, when the nearest existing one must be a
    directory) or not writable. Without this, the API calls would be made and the write fail.
    """
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    existing = target.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {path}: {existing} is a file, not a directory")
    if existing != target.parent and not make_parents:
        raise UsageError(f"{option} {path}: directory {target.parent} does not exist")
    if not os.access(existing, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        raise UsageError(f"{option} {path}: not writable")
    return target


def write_output(target: Path, text: str, option: str) -> None:
    """Write ``text`` to ``target`` whole (a temporary file, then rename), parents created."""
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise UsageError(f"{option} {target}: cannot write: {exc.strerror or exc}") from None
