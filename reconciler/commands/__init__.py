"""One module per subcommand, each exposing ``run(...) -> int``; what they share is here.

Each module ends with its click command, ``command``: an ``Options`` dataclass (one field per
option, ``options.py``) and a function that passes the fields to ``run`` by keyword, so that
mypy catches a renamed option. ``run`` returns an ``EXIT_*`` code from ``reconciler.exits``.
Only ``cli.py`` imports these modules. Kept free of API imports so that ``validate`` starts
without loading the HTTP client.

What a command prints on stdout goes through ``echo`` (or ``show``, for a renderer) and every
file it writes through ``write_output``: both redact tokens from the whole text, so that a token
a server echoed in a note or a status field never reaches a terminal, a PR comment or a file
(stderr goes through ``cli.fail``, ``print_warnings`` and ``apply.say``, which redact too).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import click

from reconciler.errors import Diagnostic, UsageError
from reconciler.redact import redact
from reconciler.render.escape import terminal_safe


def print_warnings(warnings: Sequence[Diagnostic]) -> None:
    """One ``FILE:LINE:COL: warning: ...`` line each, on stderr; warnings never fail a run."""
    for warning in warnings:
        click.echo(terminal_safe(redact(str(warning))), err=True)


def echo(text: str, *, nl: bool = True, colour: bool | None = None) -> None:
    """``text`` on stdout, tokens redacted: the one way a command prints its output."""
    click.echo(redact(text), nl=nl, color=colour)


def show(render: Callable[[TextIO], None], *, colour: bool | None = None) -> None:
    """What ``render`` writes, redacted as a whole (a token never straddles two writes).

    For the renderers, which write to a stream: ``show(lambda out: render_text(plan, out))``.
    """
    buffer = io.StringIO()
    render(buffer)
    echo(buffer.getvalue(), nl=False, colour=colour)


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
    """Write ``text`` to ``target`` whole (a temporary file, then rename), parents created;
    tokens redacted: every file a command writes goes through here."""
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(redact(text), encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise UsageError(f"{option} {target}: cannot write: {exc.strerror or exc}") from None
