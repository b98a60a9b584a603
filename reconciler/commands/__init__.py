"""One module per subcommand, each exposing ``run(...) -> int``; what they share is here.

Each ``run`` takes explicit keyword parameters, which ``cli.py`` passes by name, so that mypy
catches a renamed option, and returns an ``EXIT_*`` code from ``reconciler.exits``. Kept free
of API imports so that ``validate`` starts without loading the HTTP client.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import click

from reconciler.errors import Diagnostic, UsageError
from reconciler.redact import redact
from reconciler.render.escape import terminal_safe

# The rule schema's ``org`` pattern (a test checks that they agree). Nothing else may reach a
# URL path or a file name: ``../x`` and ``a/b`` are not slugs.
ORG_SLUG: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


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


def check_org(org: str, option: str = "--org") -> str:
    """``org`` if it is an org slug; else a one-line ``UsageError``.

    >>> check_org("acme-corp.eu")
    'acme-corp.eu'
    >>> check_org("../x")
    Traceback (most recent call last):
    ...
    reconciler.errors.UsageError: --org '../x': not an org slug (letters, digits, '.', '_' or '-', starting with a letter or digit)
    """  # noqa: E501 - a doctest's expected output is one line
    if not ORG_SLUG.fullmatch(org):
        raise UsageError(
            f"{option} {org!r}: not an org slug (letters, digits, '.', '_' or '-', "
            "starting with a letter or digit)"
        )
    return org


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
