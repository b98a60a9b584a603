"""The note written to the API: the file's reason, a blank line, then a provenance trailer.

Only the human part is ever compared, so a new commit does not rewrite every rule's note.
The trailer's prefix is also how prune=false recognises the rules this tool created.
"""

from __future__ import annotations

from typing import Final

TRAILER_PREFIX: Final = "[socket-triage]"


def compose(human: str, trailer: str | None) -> str:
    """Join the human note and a one-line trailer.

    >>> compose("Build-only dependency", "[socket-triage] source=a.yaml:3")
    'Build-only dependency\\n\\n[socket-triage] source=a.yaml:3'
    """
    human = human.strip()
    if not trailer:
        return human
    return f"{human}\n\n{trailer}" if human else trailer


def split(note: str) -> tuple[str, str | None]:
    """Split a stored note into (human part, trailer or None).

    >>> split("Build-only\\n\\n[socket-triage] source=a.yaml:3")
    ('Build-only', '[socket-triage] source=a.yaml:3')
    >>> split("typed in the dashboard")
    ('typed in the dashboard', None)
    """
    text = note.rstrip()
    head, sep, last = text.rpartition("\n")
    if last.startswith(TRAILER_PREFIX):
        return (head.strip() if sep else ""), last
    return text.strip(), None
