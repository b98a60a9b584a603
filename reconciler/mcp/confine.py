"""Paths an agent names reach only rule files under the server's working directory.

A tool argument is text from a model, which may be steered by what it read. So a path is
refused, before any file is opened, when it resolves (symbolic links followed) outside the
root, when a directory under the root links to files outside it, or when it names a file
that is not ``*.yaml`` / ``*.yml``: ``validate`` quotes values from what it reads, and a
``.env`` next to the rules is not for an agent to read through this server.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import Diagnostic, UsageError
from reconciler.rules.loader import SUFFIXES, find_files


def confine(paths: Sequence[str], root: Path) -> list[str]:
    """``paths`` (default: the root itself) checked against ``root``; ``UsageError`` if not.

    Relative paths are taken from ``root``. When ``root`` is the working directory (as in the
    server) they are returned as given, so that messages name files as the agent did.
    """
    base = Path(os.path.realpath(root))
    chosen = [str(p) for p in paths] or ["."]
    checked: list[str] = []
    for path in chosen:
        if "\x00" in path:
            raise UsageError(f"path {path!r}: contains a NUL character")
        full = Path(path) if os.path.isabs(path) else base / path
        if not _inside(full, base):
            raise UsageError(f"path {path!r}: outside the server's working directory {base}")
        if full.is_file() and not full.name.endswith(SUFFIXES):
            raise UsageError(f"path {path!r}: not a rule file (*.yaml or *.yml)")
        checked.append(str(full))
    diagnostics: list[Diagnostic] = []
    for found in find_files(checked, diagnostics):
        if not _inside(Path(found), base):
            raise UsageError(f"path {found!r}: links outside the server's working directory")
    if Path(os.path.realpath(Path.cwd())) == base:
        return chosen
    return checked


def _inside(path: Path, base: Path) -> bool:
    real = Path(os.path.realpath(path))
    return real == base or base in real.parents
