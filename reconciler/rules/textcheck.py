"""Checks on the text of rule-file values that a JSON Schema cannot word well.

Every string in a rule file reaches a terminal, a PR comment or Socket's dashboard. A control
character (NUL, ESC, BEL, ...) or a bidirectional override there can hide or redraw text, so none
is allowed: not in names, selectors, owners or tickets. Notes are prose and may hold tabs and line
breaks (YAML block scalars make them), nothing else. A note may not contain the marker that
starts the trailer this tool appends, or say only what ``export`` writes for a missing note.
"""

from __future__ import annotations

from typing import Final

from reconciler import text
from reconciler.notes import TRAILER_PREFIX

# The note ``export`` gives a live rule that had none: a placeholder that must be replaced.
MISSING_NOTE: Final = "TODO: say why this rule exists (it had no note in Socket)"


def clean(value: str, *, note: bool = False) -> bool:
    """Whether ``value`` holds no control character (tabs and line breaks are fine in a note)."""
    return text.control_character(value, prose=note) is None


def control_character(label: str, value: str, *, note: bool = False) -> str | None:
    """Why ``value`` is refused for holding a control character, or ``None``.

    >>> control_character("package_name", "lodash\\x1b[2J")
    'package_name: contains the control character U+001B; remove it'
    >>> control_character("note", "line one\\n\\tline two", note=True) is None
    True
    """
    found = text.control_character(value, prose=note)
    if found is None:
        return None
    allowed = " (a note may hold tabs and line breaks)" if note else ""
    return f"{label}: contains the control character U+{ord(found):04X}; remove it{allowed}"


def reserved_marker(value: str) -> str | None:
    """Why a note is refused for holding the trailer's marker, or ``None``.

    A note that held it could end up looking like a trailer, which is how this tool recognises
    the rules it wrote.
    """
    if TRAILER_PREFIX not in value:
        return None
    return (
        f"note: contains {TRAILER_PREFIX}, which socket-triage reserves for the trailer it "
        "appends to every note; reword the note"
    )


def placeholder(value: str) -> str | None:
    """A warning for a note that is still ``export``'s TODO placeholder, or ``None``."""
    if value.strip() != MISSING_NOTE:
        return None
    return "note: still the TODO placeholder from export; say why this rule exists"
