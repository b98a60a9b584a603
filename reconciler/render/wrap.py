"""Whole values in the text plan, wrapped to the terminal's width.

A note is the audit trail a reviewer approves, so the text plan shows it whole rather than cut
with an ellipsis. A value that does not fit on its line continues on the next ones, aligned
under its first character. On a terminal the width is the terminal's (``COLUMNS`` when set, as
``shutil.get_terminal_size`` reads it); off a terminal it is 80 columns, so a CI log or a saved
plan reads the same wherever it was made.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Iterator
from typing import Any, Final

from reconciler.render.escape import one_line, terminal_safe

# Off a terminal (a pipe, a CI log, a test), and the least a terminal is taken to be.
PLAIN_WIDTH: Final = 80
MIN_WIDTH: Final = 40


def terminal_width() -> int:
    """The terminal's width when stdout is one, else ``PLAIN_WIDTH``; never under ``MIN_WIDTH``."""
    if not sys.stdout.isatty():
        return PLAIN_WIDTH
    return max(MIN_WIDTH, shutil.get_terminal_size((PLAIN_WIDTH, 24)).columns)


def quoted(value: Any) -> str:
    """A value whole on one line, in double quotes, safe for a terminal.

    >>> quoted("two\\nlines")
    '"two lines"'
    """
    text = value if isinstance(value, str) else repr(value) if value is not None else None
    return f'"{terminal_safe(one_line(text))}"'


def wrapped(prefix: str, text: str, width: int) -> Iterator[str]:
    """``prefix + text`` in lines of at most ``width`` characters, broken at spaces (inside a
    word only when one is longer than a line), continuations aligned under the text.

    >>> list(wrapped("  note: ", '"a few short words, and then some more"', 30))
    ['  note: "a few short words,', '        and then some more"']
    """
    room = max(width - len(prefix), MIN_WIDTH // 2)
    lines = textwrap.wrap(text, room, break_on_hyphens=False) or [""]
    yield prefix + lines[0]
    for line in lines[1:]:
        yield " " * len(prefix) + line


def field_lines(indent: str, name: str, value: Any, width: int) -> Iterator[str]:
    """``name: "value"``, wrapped.

    >>> list(field_lines("  ", "note", "n", 80))
    ['  note: "n"']
    """
    yield from wrapped(f"{indent}{name}: ", quoted(value), width)


def change_lines(indent: str, name: str, old: Any, new: Any, width: int) -> Iterator[str]:
    """``name: "old" → "new"`` on one line when it fits; else the old value, then ``→`` and the
    new one on lines of their own, each wrapped.

    >>> list(change_lines("  ", "state", "warn", "block", 80))
    ['  state: "warn" → "block"']
    >>> list(change_lines("  ", "note", "was short", "is longer now and longer still", 30))
    ['  note: "was short"', '      → "is longer now and', '        longer still"']
    """
    line = f"{indent}{name}: {quoted(old)} → {quoted(new)}"
    if len(line) <= width:
        yield line
        return
    yield from wrapped(f"{indent}{name}: ", quoted(old), width)
    yield from wrapped(f"{indent}{' ' * len(name)}→ ", quoted(new), width)
